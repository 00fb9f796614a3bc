"""Running the real `praxis-upgrade` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m praxis_upgrade ARGS` with no stdin (never a terminal), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ) if env is None else env,
        stdin=subprocess.DEVNULL,
    )


def freeze(praxis: Path) -> str:
    """`pip freeze` of the install's venv."""
    python = praxis / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout
