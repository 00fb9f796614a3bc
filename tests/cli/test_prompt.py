"""The conflict prompt on a real terminal (a pty): an empty answer never overwrites."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from kits.sandboxkit import Sandbox


def read_until(fd: int, needle: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not seen in {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def run_on_a_pty(source_path: object, project: object) -> tuple[subprocess.Popen[bytes], int]:
    """`praxis-upgrade run` with stdin and stdout on a pseudo-terminal, as a person starts it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "praxis_upgrade",
            "run",
            "--source",
            str(source_path),
            "--target",
            str(project),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    return proc, master


def test_prompt_asks_again_on_empty_answer_then_keeps_local(sandbox: Sandbox, tmp_path):
    source = sandbox.source
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    conflict = next(p for p, k in target.user_edits.items() if k == "edit-conflict")
    mine = (target.praxis / conflict).read_bytes()
    proc, master = run_on_a_pty(source.path, target.project)
    try:
        read_until(master, b"Apply this upgrade?")
        os.write(master, b"y\n")
        read_until(master, b"[k]eep yours")
        os.write(master, b"\n")  # empty: must ask again, not overwrite
        read_until(master, b"[k]eep yours")
        os.write(master, b"d\n")
        shown = read_until(master, b"[k]eep yours")
        assert b"upstream/" in shown  # the diff was shown
        os.write(master, b"k\n")
        read_until(master, b"Upgrade completed", timeout=120)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(master)
    assert (target.praxis / conflict).read_bytes() == mine
    assert (target.praxis / (conflict + ".praxis-upstream")).exists()


def test_no_at_the_confirmation_changes_nothing(sandbox: Sandbox, tmp_path):
    source = sandbox.source
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    proc, master = run_on_a_pty(source.path, target.project)
    try:
        read_until(master, b"Apply this upgrade?")
        os.write(master, b"n\n")
        read_until(master, b"nothing was changed")
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
        os.close(master)
    assert not (target.praxis / ".backups").exists()
    assert not (target.praxis / ".cache" / "state" / "praxis-upgrade").exists()
