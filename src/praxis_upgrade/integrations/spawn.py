"""Starting upgrade commands in a process of their own, detached from the caller (MCP server,
git hook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from praxis_upgrade.store import Store


def log_path(praxis: Path, session_id: str) -> Path:
    return Store(praxis).session_log(session_id)


def spawn(
    args: list[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    module: str = "praxis_upgrade",
    cwd: Path | None = None,
    merge_stderr: bool = False,
) -> int:
    """Run ``python -m MODULE ARGS`` in a new session, stdout to ``log`` and stderr to ``log`` with
    the suffix ``.err`` (or into ``log`` too with ``merge_stderr``); return its pid.

    The child does not share the caller's terminal, stdin or process group, so the caller (an MCP
    server the IDE restarts, a git hook) can end without taking the upgrade down with it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    # the caller's env as given; else ours without GIT_* (they tie git to the caller's repo)
    clean = (
        env
        if env is not None
        else {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    )
    with (
        open(log, "ab") as out,
        open(os.devnull if merge_stderr else log.with_suffix(".err"), "ab") as err,
    ):
        proc = subprocess.Popen(  # stdout gets only the JSON result, so it can be read back
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if merge_stderr else err,
            start_new_session=True,
            close_fds=True,
            env=clean,
            cwd=cwd,
        )
    return proc.pid
