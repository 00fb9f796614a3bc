"""Example plugin: replace the default server restart with a command of your own.

Set ``PRAXIS_UPGRADE_RESTART_COMMAND`` (e.g. ``systemctl --user restart praxis-mcp`` or a
script that asks your IDE to reload) and this plugin runs it, in the project folder, instead
of the built-in restart. Without the variable it returns ``None`` and the default runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

from praxis_upgrade import hookimpl

ENV = "PRAXIS_UPGRADE_RESTART_COMMAND"


@hookimpl
def praxis_restart_server(ctx: Any) -> dict[str, Any] | None:
    command = os.environ.get(ENV)
    if not command:
        return None
    if not ctx.options.auto_restart:
        return {
            "restarted": False,
            "message": f"not restarted (--no-restart); would have run: {command}",
        }
    try:
        done = subprocess.run(
            shlex.split(command),
            cwd=ctx.project,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"restart command {command!r} failed: {e}") from e
    if done.returncode != 0:
        raise RuntimeError(
            f"restart command {command!r} exited {done.returncode}: {done.stderr.strip()}"
        )
    return {
        "restarted": True,
        "message": f"restarted with {command!r}",
        "output": done.stdout[-2000:],
    }
