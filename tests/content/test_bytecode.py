"""Replaced Python files never run stale bytecode, even when replaced in the same second."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
from pathlib import Path

from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.restore import restore_backup
from praxis_upgrade.util import fs


def version_seen(package_root: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import mod; print(mod.VERSION)"],
        cwd=package_root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return out.stdout.strip()


def compile_with_same_stamp(path: Path, stamp: float) -> None:
    os.utime(path, (stamp, stamp))
    py_compile.compile(
        str(path),
        cfile=str(path.parent / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"),
    )


def test_restore_drops_bytecode_of_a_same_size_file_replaced_in_the_same_second(tmp_path):
    target = tmp_path / "install"
    target.mkdir()
    mod = target / "mod.py"
    mod.write_text('VERSION = "1.5.0"\n')
    made = create_backup(target, ["mod.py"], meta={})
    stamp = mod.stat().st_mtime
    mod.write_text('VERSION = "1.6.0"\n')  # the upgrade: same size
    compile_with_same_stamp(mod, stamp)  # the new server ran and cached its bytecode
    assert version_seen(target) == "1.6.0"
    restore_backup(target, made, added_shas={"mod.py": fs.sha256_file(mod)})
    os.utime(mod, (stamp, stamp))  # restored within the same second: only the .pyc can tell
    assert version_seen(target) == "1.5.0"


def test_drop_bytecode_ignores_files_that_are_not_python(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    keep = tmp_path / "__pycache__" / "notes.cpython-311.pyc"
    keep.write_bytes(b"x")
    fs.drop_bytecode(tmp_path / "notes.md")
    assert keep.exists()
