"""A full disk is a clear error, never "this is a bug": pre-flight counts what the run writes,
and running out of space later rolls back or leaves a session that resume finishes. On a real
small tmpfs (mounted by the test; root only)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.engine import run as engine
from praxis_upgrade.errors import ExitCode, PraxisError, Unfinished
from praxis_upgrade.plugin.manager import get_plugin_manager

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


@contextlib.contextmanager
def small_disk(mountpoint: Path, size: int) -> Iterator[Path]:
    """A tmpfs of `size` bytes at `mountpoint` (skips where it cannot be mounted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _project_on(disk: Path, prepared: Prepared, tmp_path: Path) -> tuple[Path, Path]:
    """A v1.4.0 install with its venv, copied onto `disk` (upgraded to v1.5.0: same deps)."""
    target = prepared.target(tmp_path / "build" / "project", "v1.4.0")
    shutil.copytree(target.project, disk / "project", symlinks=True)
    from kits.sandboxkit import relocate_venv

    relocate_venv(target.praxis / "venv", disk / "project" / ".praxis-os" / "venv")
    return disk / "project", disk / "project" / ".praxis-os"


class FillTheDisk:
    """Fills the disk right before a step, as another program would; `free()` undoes it."""

    def __init__(self, disk: Path, before: str) -> None:
        self.filler, self.before = disk / "filler.bin", before

    def _fill(self) -> None:
        with contextlib.suppress(OSError), open(self.filler, "wb") as f:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    @hookimpl(wrapper=True)
    def praxis_content(self):  # type: ignore[no-untyped-def]
        if self.before == "content":
            self._fill()
        return (yield)

    @hookimpl(wrapper=True)
    def praxis_cleanup(self):  # type: ignore[no-untyped-def]
        if self.before == "cleanup":
            self._fill()
        return (yield)


def _leave_free(disk: Path, free: int) -> None:
    """Take up the disk until only `free` bytes are left (as other files would)."""
    with open(disk / "taken.bin", "wb") as f:
        f.write(b"\0" * max(0, shutil.disk_usage(disk).free - free))


@pytest.mark.parametrize("spare", [64 * 1024, 1024 * 1024], ids=["64KiB", "1MiB"])
def test_too_little_space_is_refused_before_anything_is_written(
    prepared: Prepared, tmp_path: Path, spare: int
) -> None:
    with small_disk(tmp_path / "disk", 256 * 1024 * 1024) as disk:
        project, praxis = _project_on(disk, prepared, tmp_path)
        _leave_free(disk, spare)
        before = upgrade_state(praxis, skip=("venv",))
        done = cli(
            "run",
            "--target",
            str(project),
            "--source",
            str(prepared.source.path),
            "--rev",
            "v1.5.0",
        )
        assert done.returncode == ExitCode.USER_ERROR, done.stderr
        assert "not enough disk space" in done.stderr and "backup and content" in done.stderr
        assert "Traceback" not in done.stderr
        assert upgrade_state(praxis, skip=("venv",)) == before
        assert not (praxis / ".backups").exists() or not list((praxis / ".backups").iterdir())


@pytest.mark.parametrize("before_step", ["content", "cleanup"])
def test_running_out_of_space_later_rolls_back_or_stops_resumably_and_says_so(
    prepared: Prepared, tmp_path: Path, before_step: str
) -> None:
    with small_disk(tmp_path / "disk", 256 * 1024 * 1024) as disk:
        project, praxis = _project_on(disk, prepared, tmp_path)
        _leave_free(disk, 24 * 1024 * 1024)  # room for the run, until the disk fills up
        before = upgrade_state(praxis, skip=("venv",))
        filler = FillTheDisk(disk, before_step)
        pm = get_plugin_manager(load_entrypoints=False, extra=[filler])
        with pytest.raises(PraxisError) as err:
            engine.run_upgrade(project, source_path=prepared.source.path, rev="v1.5.0", pm=pm)
        assert "space" in err.value.message.lower(), err.value.message
        filler.free()  # the user frees space, then takes the way the message names
        if before_step == "cleanup":
            assert isinstance(err.value, Unfinished)
            done = cli("resume", "--target", str(project))
            assert done.returncode == 0, done.stderr
            assert "v1.5.0" in cli("status", "--target", str(project)).stdout
        else:
            if err.value.exit_code == ExitCode.ROLLBACK_FAILED:  # not even room to restore
                again = cli("rollback", "--target", str(project))
                assert again.returncode == 0, again.stderr
            else:
                assert err.value.exit_code == ExitCode.ROLLED_BACK
            assert upgrade_state(praxis, skip=("venv",)) == before
