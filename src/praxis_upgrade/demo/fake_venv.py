"""The install's Python environment: a real venv with pip and the pinned `fakedep` wheel."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path


def venv_python(praxis: Path) -> Path:
    """The interpreter of `<praxis>/venv` (POSIX or Windows layout)."""
    scripts = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    return praxis / "venv" / scripts / exe


def pip_env() -> dict[str, str]:
    """Environment for offline, non-interactive pip runs that ignore the user's pip config."""
    env = dict(os.environ)
    env.update(
        {
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def install_requirements(python: Path, requirements: Path, wheels: Path) -> None:
    """`pip install --no-index --find-links <wheels> -r <requirements>` into `python`'s env."""
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(requirements),
        ],
        check=True,
        env=pip_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def create_venv(praxis: Path, wheels: Path) -> Path:
    """Create `<praxis>/venv` with pip (ensurepip, offline) and install the install's
    requirements."""
    venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt", clear=True).create(praxis / "venv")
    python = venv_python(praxis)
    install_requirements(python, praxis / "mcp_server" / "requirements.txt", wheels)
    return python
