"""Atomic writes: the modes of the files they create and replace."""

from __future__ import annotations

import subprocess
import sys

import pytest

WRITE = """
import sys
from pathlib import Path
from praxis_upgrade.util import fs

folder = Path(sys.argv[1])
fs.atomic_write_text(folder / "new.txt", "new\\n")
fs.atomic_write_json(folder / "new.json", {"a": 1})
fs.atomic_write_bytes(folder / "sub" / "new.bin", b"new")
fs.atomic_write_text(folder / "existing.txt", "replaced\\n")
"""


def under_umask(umask: int, *argv: str) -> list[str]:
    """`argv` run by a shell that set `umask` first, as a user's shell would have."""
    return ["sh", "-c", 'umask "$0" && exec "$@"', f"{umask:03o}", *argv]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path, umask):
    existing = tmp_path / "existing.txt"
    existing.write_text("old\n")
    existing.chmod(0o604)
    done = subprocess.run(
        under_umask(umask, sys.executable, "-c", WRITE, str(tmp_path)),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for rel in ("new.txt", "new.json", "sub/new.bin"):
        assert oct((tmp_path / rel).stat().st_mode & 0o7777) == oct(0o666 & ~umask), rel
    assert existing.read_text() == "replaced\n"
    assert oct(existing.stat().st_mode & 0o7777) == oct(0o604)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_explicit_mode_wins_over_the_umask(tmp_path):
    script = (
        "import sys; from pathlib import Path; from praxis_upgrade.util import fs; "
        "fs.atomic_write_text(Path(sys.argv[1]) / 'secret', 'x', mode=0o600)"
    )
    done = subprocess.run(under_umask(0o022, sys.executable, "-c", script, str(tmp_path)))
    assert done.returncode == 0
    assert (tmp_path / "secret").stat().st_mode & 0o7777 == 0o600
