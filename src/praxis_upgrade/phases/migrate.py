"""Default migration: an install made before the rename (`.agent-os/`) moves to `.praxis-os/`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import MigrateResult, PlanResult
from praxis_upgrade.errors import TargetError
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server.ideconfig import ide_config_paths
from praxis_upgrade.store import DOT_DIR, LEGACY_DOT_DIR
from praxis_upgrade.util import durable, fs

CONFIG = "config.json"


@hookimpl(trylast=True)
def praxis_migrate(ctx: Context) -> MigrateResult | None:
    plan = ctx.result("plan", PlanResult)
    if plan is None or not plan.migration:
        return None
    old, new = Path(plan.migration["from"]), Path(plan.migration["to"])
    if old.is_dir() and new.exists():
        raise TargetError(
            f"both {old} and {new} exist",
            hint=f"keep one: move {new} aside if it is a leftover, then run again",
        )
    if old.is_dir():  # idempotent: after a crash the folder may already be at its new place
        os.rename(old, new)
        durable.fsync_folder(new.parent)
    ctx.target = new
    left: list[str] = []
    written = rewrite_references(ctx.project, LEGACY_DOT_DIR, DOT_DIR, left=left)
    for problem in left:  # the IDE would still start the server from the old folder
        ctx.emit("warning", message=problem)
    # the server reads its folders from the install's config.json: the move must reach it too
    config = rewrite_references(new, LEGACY_DOT_DIR, DOT_DIR, files=[new / CONFIG])
    if config:
        written[CONFIG] = next(iter(config.values()))  # install-relative, like content writes
    return MigrateResult(
        moved=True,
        source=str(old),
        target=str(new),
        written=written,
        left=left,
        message=f"moved {old.name}/ to {new.name}/ and rewrote {len(written)} file(s) naming it",
    )


def rewrite_references(
    project: Path,
    old: str,
    new: str,
    *,
    files: list[Path] | None = None,
    left: list[str] | None = None,
) -> dict[str, str]:
    """Point the project's IDE configs and `.gitignore` lines (or `files`) from `old` to `new`
    (text edits: formatting, comments and the user's server key stay). Returns path -> sha256.

    A file that needs the edit but is a symlink, read-only or in a folder we may not write is
    left as it is (`fs.kept_as_is`); what the user must change in it is added to `left`."""
    # `old` as a path segment: not part of a longer name, not a key like "agent-os-rag"
    pattern = re.compile(rf"(?<![\w.-]){re.escape(old)}(?![\w-])")
    written = {}
    for path in (
        files if files is not None else [*ide_config_paths(project), project / ".gitignore"]
    ):
        try:
            text = path.read_bytes().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            continue
        changed = pattern.sub(new, text)
        why = fs.kept_as_is(path) if changed != text else None
        if why is not None:
            if left is not None:
                left.append(f"{why}: replace {old} with {new} in it by hand")
        elif changed != text:
            data = changed.encode("utf-8", "surrogateescape")
            fs.atomic_write_bytes(path, data, mode=path.stat().st_mode & 0o7777)
            written[str(path)] = fs.sha256_bytes(data)
    return written
