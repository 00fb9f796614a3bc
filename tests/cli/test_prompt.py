"""The conflict prompt on a real terminal (a pty): an empty answer never overwrites."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from kits.sandboxkit import Sandbox
from kits.upgradekit import tree_hash
from praxis_upgrade.engine import run as engine


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


def run_on_a_pty(
    source_path: object, project: object, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
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
            *extra,
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


def test_diff_at_the_prompt_shows_your_change_and_upstreams_change_from_the_base(
    sandbox: Sandbox, tmp_path
):
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    conflict = next(p for p, k in target.user_edits.items() if k == "edit-conflict")
    proc, master = run_on_a_pty(sandbox.source.path, target.project)
    try:
        read_until(master, b"Apply this upgrade?")
        os.write(master, b"y\n")
        read_until(master, b"[k]eep yours")
        os.write(master, b"d\n")
        shown = read_until(master, b"[k]eep yours").decode("utf-8", "replace")
        os.write(master, b"k\n")
        read_until(master, b"Upgrade completed", timeout=120)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(master)
    yours = shown.index("your change (base -> yours)")
    theirs = shown.index("upstream's change (base -> upstream)")
    assert yours < theirs
    assert f"base/{conflict}" in shown[yours:theirs] and f"yours/{conflict}" in shown[yours:theirs]
    assert f"upstream/{conflict}" in shown[theirs:]
    assert f"local/{conflict}" not in shown  # not the two-way yours-against-upstream diff


def test_a_downgrade_on_a_terminal_says_so_and_no_keeps_the_install(sandbox: Sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    engine.run_upgrade(target.project, source_path=sandbox.source.path, conflicts="keep-local")
    upgraded = tree_hash(target.praxis)
    proc, master = run_on_a_pty(sandbox.source.path, target.project, "--rev", "v1.5.0")
    try:
        shown = read_until(master, b"?")
        assert b"downgrade" in shown and b"v1.6.0" in shown
        os.write(master, b"\n")  # the default answer to a downgrade is no
        read_until(master, b"nothing was changed")
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
        os.close(master)
    assert tree_hash(target.praxis) == upgraded
