"""The venv's interpreter that cannot be reached (EACCES) is a clear error, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from praxis_upgrade.errors import ExitCode

DROP_DAC = "-dac_override,-dac_read_search"


def as_plain_user() -> list[str]:
    """A command prefix under which permission bits apply: nothing for a normal user; for root,
    `setpriv` without the two capabilities that let root search and read any folder."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root searches every folder, and there is no setpriv to drop that power")
    prefix = [setpriv, "--bounding-set", DROP_DAC, "--"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here (no CAP_SETPCAP)")
    return prefix


@pytest.fixture
def locked_venv(tmp_path: Path) -> Iterator[Path]:
    """An install whose `venv/bin` folder has mode 000: its interpreter cannot even be stat'ed."""
    praxis = tmp_path / "project" / ".praxis-os"
    for folder in ("standards", "workflows", "mcp_server"):
        (praxis / folder).mkdir(parents=True)
    bin_dir = praxis / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    bin_dir.chmod(0)
    try:
        yield praxis
    finally:
        bin_dir.chmod(0o755)


def test_an_interpreter_behind_an_unreadable_folder_is_a_clear_error(locked_venv: Path) -> None:
    prefix = as_plain_user()
    python = locked_venv / "venv" / "bin" / "python"
    probe = [*prefix, sys.executable, "-c", f"import os; os.stat({str(python)!r})"]
    if b"PermissionError" not in subprocess.run(probe, capture_output=True).stderr:
        pytest.skip("the folder's mode 000 does not stop this user here")

    done = subprocess.run(
        [*prefix, sys.executable, "-m", "praxis_upgrade", "validate", "--target", str(locked_venv)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    output = done.stdout + done.stderr  # validate reports it as its failed first check
    assert done.returncode == ExitCode.USER_ERROR, output
    assert "Traceback" not in output and "unexpected error" not in output, output
    assert f"{python} cannot be reached: permission denied" in output, output
    assert f"chmod u+rx {python.parent.parent} {python.parent}" in output, output
