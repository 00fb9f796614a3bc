"""IDE MCP configs (``.cursor/mcp.json``, ``.mcp.json``): add ``--transport dual`` to this
project's server.

Only entries that launch ``mcp_server`` from *this* project's ``.praxis-os`` are edited; the server
key, the other servers, key order, indentation and the trailing newline are kept. A file that is
not valid JSON, a symlink (its link is kept, never replaced by a file), a read-only one and one in
a folder we may not write are left untouched and reported. Callers back up ``ide_config_paths``
first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from praxis_upgrade.util import fs

CONFIGS = (".cursor/mcp.json", ".mcp.json")
SERVER_TABLES = ("mcpServers", "servers")
_BY_HAND = 'add "--transport", "dual" after "mcp_server" in the args of the prAxIs server by hand'
_VARS = re.compile(r"\$\{(workspaceFolder|workspaceRoot|PROJECT_ROOT)\}")


@dataclasses.dataclass
class IdeChange:
    """One server entry of one IDE config: what was (or would be) changed, or why it was not."""

    path: str
    server: str | None
    changed: bool
    before: list[str] | None = None
    after: list[str] | None = None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdeChange:
        return cls(**data)


def ide_config_paths(project: Path) -> list[Path]:
    """The IDE config files of `project` that exist (back them up before ``fix_ide_configs``)."""
    return [project / rel for rel in CONFIGS if (project / rel).is_file()]


def _is_this_install(text: str, project: Path) -> bool:
    """Whether a command/arg/env string points into `project`'s ``.praxis-os``."""
    expanded = _VARS.sub(lambda _: str(project), text)
    for m in re.finditer(r"\.praxis-os", expanded):
        prefix = expanded[: m.start()].split(os.pathsep)[-1].split("=")[-1].rstrip("/\\")
        if (
            not prefix
            or not os.path.isabs(prefix)
            or os.path.realpath(prefix) == os.path.realpath(project)
        ):
            return True
    return False


def is_project_server(entry: Any, project: Path) -> bool:
    """An entry that runs ``mcp_server`` from this project's install (not an http client entry)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("args", []), list):
        return False
    args = [str(a) for a in entry.get("args", [])]
    env = entry.get("env")
    env = env if isinstance(env, dict) else {}
    texts = [str(entry.get("command", "")), *args, *(str(v) for v in env.values())]
    return any("mcp_server" in a for a in args) and any(_is_this_install(t, project) for t in texts)


def with_transport(args: list[str], transport: str = "dual") -> list[str]:
    """`args` with ``--transport <transport>`` right after ``mcp_server`` unless one is there."""
    if any(a == "--transport" or a.startswith("--transport=") for a in args):
        return list(args)
    at = next((i + 1 for i, a in enumerate(args) if "mcp_server" in a), len(args))
    return [*args[:at], "--transport", transport, *args[at:]]


def _indent(text: str) -> int | str | None:
    m = re.search(r"^[{\[]\s*?\n([ \t]+)\S", text)
    if not m:
        return None
    ws = m.group(1)
    return "\t" if ws.startswith("\t") else len(ws)


def _fix_file(path: Path, project: Path, write: bool) -> list[IdeChange]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text, object_pairs_hook=dict)
    except ValueError as exc:
        return [
            IdeChange(
                str(path),
                None,
                False,
                problem=f"{path} is not valid JSON ({exc}); left untouched: {_BY_HAND}",
            )
        ]
    changes = []
    tables = [data.get(k) for k in SERVER_TABLES] if isinstance(data, dict) else []
    for table in (t for t in tables if isinstance(t, dict)):
        for key, entry in table.items():
            if not is_project_server(entry, project):
                continue
            before = [str(a) for a in entry.get("args", [])]
            after = with_transport(before)
            if after != before:
                entry["args"] = after
            changes.append(IdeChange(str(path), key, after != before, before, after))
    if not any(c.changed for c in changes):
        return changes
    why = fs.kept_as_is(path)
    if why:  # said the same way by the check and the run: a no-op stays a no-op
        return [IdeChange(str(path), None, False, problem=f"{why}; {_BY_HAND}")]
    if write:
        out = json.dumps(data, indent=_indent(text), ensure_ascii=False)
        fs.atomic_write_text(
            path, out + ("\n" if text.endswith("\n") else ""), mode=path.stat().st_mode & 0o7777
        )
    return changes


def fix_ide_configs(
    project: Path, *, requires_transport: bool, write: bool = True
) -> list[IdeChange]:
    """Make this project's IDE server entries pass ``--transport`` when the new version requires it.

    Args:
        project: the project root (``target.parent``).
        requires_transport: the new server version's CLI requires ``--transport``.
        write: False to only report what would change.

    Returns:
        One entry per server entry of this project found (``changed`` tells whether it was
        edited) and one per config that could not be read (``problem``).
    """
    if not requires_transport:
        return []
    changes: list[IdeChange] = []
    for path in ide_config_paths(project):
        try:
            changes += _fix_file(path, project, write)
        except OSError as exc:
            changes.append(
                IdeChange(str(path), None, False, problem=f"cannot read or write {path}: {exc}")
            )
    return changes
