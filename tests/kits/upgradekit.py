"""Shared helpers for end-to-end upgrade tests on the sandbox: prepared installs, tree hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kits.sandboxkit import Sandbox
from praxis_upgrade.demo import Source, Target

# runtime files an upgrade writes on purpose and a rollback leaves: reports, logs, sessions, backups
RUNTIME = (".cache", ".backups", "UPDATE_LOG.txt", ".mcp_server_state.json")


def tree_hash(praxis: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """path -> sha256 + mode (or link target) of the install, minus runtime files, __pycache__."""
    out = {}
    runtime = RUNTIME + skip
    for root, dirs, files in os.walk(praxis):
        rel_root = os.path.relpath(root, praxis)
        dirs[:] = [d for d in dirs if d != "__pycache__" and (rel_root != "." or d not in runtime)]
        for name in files:
            if rel_root == "." and name in runtime:
                continue
            path = Path(root) / name
            rel = os.path.relpath(path, praxis)
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            else:
                st = path.lstat()
                out[rel] = (
                    hashlib.sha256(path.read_bytes()).hexdigest() + f":{st.st_mode & 0o7777:o}"
                )
        for name in dirs:
            out[os.path.relpath(Path(root) / name, praxis) + "/"] = "dir"
    return out


SETTINGS = (".praxis-upgrade/", ".praxis-upgrade/settings.json")


def upgrade_state(praxis: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """What an upgrade changes and a rollback puts back: `tree_hash` without this tool's
    settings (the remembered source, which a rollback keeps)."""
    return {k: v for k, v in tree_hash(praxis, skip=skip).items() if k not in SETTINGS}


def outside_files(project: Path) -> dict[str, bytes | None]:
    paths = (".gitignore", ".cursor/mcp.json", ".mcp.json")
    return {p: (project / p).read_bytes() if (project / p).exists() else None for p in paths}


class Prepared:
    """The session's sandbox source, and installs per (version, edits), copied fresh per test."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.source: Source = sandbox.source

    def target(
        self, dest: Path, version: str = "v1.5.0", *, edits: bool = True, venv: bool = True
    ) -> Target:
        return self.sandbox.target(dest, version, edits=edits, venv=venv)
