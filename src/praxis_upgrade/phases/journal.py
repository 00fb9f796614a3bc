"""What the upgrade writes, kept in its backup as well (``WRITTEN.json``), so a rollback from
that backup tells the upgrade's bytes from the user's even when the session file is lost."""

from __future__ import annotations

from pathlib import Path

from praxis_upgrade.content.apply import ApplyResult
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import BackupResult, PlanResult
from praxis_upgrade.source import layout
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs

JOURNAL = "WRITTEN.json"
STEPS_THAT_WRITE = ("migrate", "content", "server.code")


def written_by_upgrade(ctx: Context) -> dict[str, str]:
    """Paths this upgrade wrote (or is about to), with the sha256 of what it wrote.

    The plan says what an add or a side file would contain, which covers a crash in the middle of
    a step; the steps' own records add merges, the .gitignore and anything else they wrote.
    """
    added: dict[str, str] = {}
    planned = ctx.result("plan", PlanResult)
    for entry in planned.entries().entries if planned is not None else []:
        if entry.upstream_sha and entry.action.writes:
            added[entry.path] = entry.upstream_sha  # what an update or add writes
        if entry.upstream_sha and entry.is_conflict:
            added[layout.side_file(entry.path)] = entry.upstream_sha
    for step in STEPS_THAT_WRITE:
        applied = ctx.result(step, ApplyResult)
        added.update(applied.written if applied is not None else {})
    return added


def save_journal(ctx: Context, backup_dir: Path | None = None) -> None:
    """Write what the upgrade wrote so far into its backup (`backup_dir`, default: the session's
    backup). Called when the backup is made and whenever a step records what it wrote."""
    if backup_dir is None:
        info = ctx.result("backup", BackupResult)
        if info is None or not info.id:
            return
        # found from the install as it is now: a migration moved the backup with the install
        backup_dir = Store(ctx.target).backups / info.id
        if not backup_dir.is_dir():
            return
    fs.atomic_write_json(
        backup_dir / JOURNAL, {"session": ctx.session.id, "written": written_by_upgrade(ctx)}
    )


def load_journal(backup_dir: Path) -> dict[str, str]:
    """The paths and sha256 a backup's upgrade recorded as its own ({} when there is none)."""
    try:
        data = fs.read_json(backup_dir / JOURNAL)
    except (OSError, ValueError):
        return {}
    written = data.get("written") if isinstance(data, dict) else None
    if not isinstance(written, dict):
        return {}
    return {k: v for k, v in written.items() if isinstance(k, str) and isinstance(v, str)}
