"""Launch the installed stand-in server the way an IDE does (stdio kept open, cwd = project)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from praxis_upgrade.demo.fake_target import Target
from praxis_upgrade.demo.fake_venv import venv_python
from praxis_upgrade.demo.wheels import build_fakedep_wheels


def _pinned_fakedep(praxis: Path) -> str | None:
    try:
        text = (praxis / "mcp_server" / "requirements.txt").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^fakedep==([\w.]+)", text, re.MULTILINE)
    return match.group(1) if match else None


def _wheel_cache() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"praxis-sandbox-wheels-{uid}"


def server_command(target: Target, transport: str = "stdio") -> tuple[list[str], dict[str, str]]:
    """(argv, extra env) to start `target`'s server.

    With `<praxis>/venv`, its interpreter is used and nothing else is added: whatever fakedep
    that venv holds is what the server sees. Without a venv, `sys.executable` runs it and the
    wheel of the fakedep version the install's requirements.txt pins goes on PYTHONPATH
    (zip import), i.e. "dependencies installed correctly".
    """
    python = venv_python(target.praxis)
    pythonpath = [str(target.praxis)]
    if not python.exists():
        python = Path(sys.executable)
        pinned = _pinned_fakedep(target.praxis)
        if pinned:
            wheels = build_fakedep_wheels(_wheel_cache())
            if pinned in wheels:
                pythonpath.append(str(wheels[pinned]))
    env = {
        "PYTHONPATH": os.pathsep.join(pythonpath),
        "PYTHONUNBUFFERED": "1",
        "PROJECT_ROOT": str(target.project),
    }
    return [str(python), "-m", "mcp_server", "--transport", transport], env


def start_server(
    target: Target, *, transport: str = "stdio", env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start the stand-in server detached from the caller's stdio (stdin/stdout/stderr are pipes).

    `env` adds to the environment (e.g. ``{"FAKE_MCP_CRASH_AFTER": "2"}``). The caller owns the
    process: close stdin for a clean exit, or terminate it by its pid.
    """
    argv, extra = server_command(target, transport)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_MCP_")}
    full_env.pop("AGENT_OS_BASE_PATH", None)
    full_env.update(extra)
    full_env.update(env or {})
    return subprocess.Popen(
        argv,
        cwd=target.project,
        env=full_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
