"""Batches of writes: made durable once at their end, in the order a crash needs, or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from praxis_upgrade.util import durable, fs


class Recorder:
    """Stands in for the syncs a batch makes, and remembers them."""

    def __init__(self, watch: Path | None = None) -> None:
        self.files: list[int] = []
        self.folders: list[Path] = []
        self.filesystems: list[Path] = []
        self.watch = watch  # a file whose bytes each syncfs notes, as it stands then
        self.seen: list[bytes | None] = []

    def fsync(self, fd: int) -> None:
        self.files.append(fd)

    def fsync_dir(self, path: Path) -> None:
        self.folders.append(path)

    def syncfs(self, path: Path) -> None:
        self.filesystems.append(path)
        if self.watch is not None:
            self.seen.append(self.watch.read_bytes() if self.watch.exists() else None)


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


def _write_tree(batch: durable.Batch, root: Path) -> None:
    for rel in ("a/one", "a/two", "a/b/three", "a/b/four", "c/five"):
        fs.atomic_write_bytes(root / rel, rel.encode(), batch=batch)


def test_without_syncfs_each_file_is_fsynced_once_and_each_folder_once(tmp_path: Path) -> None:
    rec = Recorder()
    batch = durable.Batch(root=tmp_path, syncfs=None, fsync=rec.fsync, fsync_dir=rec.fsync_dir)
    _write_tree(batch, tmp_path)
    fs.atomic_copy(tmp_path / "a/one", tmp_path / "a/six", batch=batch)
    assert len(rec.files) == 6 and rec.folders == []
    assert not batch.durable
    batch.flush()
    assert len(rec.files) == 6
    assert sorted(rec.folders) == sorted(
        [tmp_path, tmp_path / "a", tmp_path / "a/b", tmp_path / "c"]
    )
    assert rec.folders.index(tmp_path / "a/b") < rec.folders.index(tmp_path / "a")
    assert batch.durable
    assert (tmp_path / "a/b/four").read_bytes() == b"a/b/four"
    assert _temp_files(tmp_path) == []


def test_with_syncfs_no_file_or_folder_is_fsynced_and_the_filesystem_is_synced_once(
    tmp_path: Path,
) -> None:
    rec = Recorder()
    batch = durable.Batch(
        root=tmp_path, syncfs=rec.syncfs, fsync=rec.fsync, fsync_dir=rec.fsync_dir
    )
    _write_tree(batch, tmp_path)
    assert (tmp_path / "c/five").read_bytes() == b"c/five"  # in place at once: not staged
    assert rec.filesystems == []
    batch.flush()
    assert len(rec.filesystems) == 1 and rec.files == [] and rec.folders == []
    assert batch.durable


def test_staged_files_take_their_places_only_after_their_bytes_are_synced(
    tmp_path: Path,
) -> None:
    live = tmp_path / "live.md"
    live.write_bytes(b"old")
    rec = Recorder(watch=live)
    with durable.batch(staged=True, syncfs=rec.syncfs) as batch:
        fs.atomic_write_bytes(live, b"new", batch=batch)
        fs.atomic_write_bytes(tmp_path / "added.md", b"added", batch=batch)
        assert live.read_bytes() == b"old" and not (tmp_path / "added.md").exists()
        assert len(_temp_files(tmp_path)) == 2
    # one sync with the old file still in place (the new bytes in its temp), one after the renames
    assert rec.seen == [b"old", b"new"]
    assert (tmp_path / "added.md").read_bytes() == b"added"
    assert _temp_files(tmp_path) == [] and batch.durable


def test_a_staged_file_in_a_folder_it_made_is_fsynced_and_placed_at_once(tmp_path: Path) -> None:
    rec = Recorder()
    batch = durable.Batch(staged=True, syncfs=rec.syncfs, fsync=rec.fsync)
    fs.atomic_write_bytes(tmp_path / "new/first.md", b"first", batch=batch)
    fs.atomic_write_bytes(tmp_path / "new/second.md", b"second", batch=batch)
    assert (tmp_path / "new/first.md").read_bytes() == b"first"
    assert not (tmp_path / "new/second.md").exists()  # its folder was there: staged
    assert len(rec.files) == 1
    batch.flush()
    assert (tmp_path / "new/second.md").read_bytes() == b"second"
    assert len(rec.files) == 1 and len(rec.filesystems) == 2


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "at-once"])
def test_a_batch_that_raises_leaves_no_temp_file_and_claims_nothing(
    tmp_path: Path, staged: bool
) -> None:
    live = tmp_path / "live.md"
    live.write_bytes(b"old")
    rec = Recorder()

    def broken() -> Iterator[bytes]:
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        with durable.batch(staged=staged, syncfs=rec.syncfs) as batch:
            fs.atomic_write_bytes(live, b"new", batch=batch)
            fs.atomic_write_chunks(tmp_path / "other.md", broken(), batch=batch)
    assert _temp_files(tmp_path) == []
    assert rec.filesystems == [] and not batch.durable
    assert live.read_bytes() == (b"old" if staged else b"new")
    assert not (tmp_path / "other.md").exists()


def test_a_failed_syncfs_is_an_error_and_drops_what_was_staged(tmp_path: Path) -> None:
    def failing(path: Path) -> None:
        raise OSError(5, "Input/output error", str(path))

    live = tmp_path / "live.md"
    live.write_bytes(b"old")
    with pytest.raises(OSError, match="Input/output"):
        with durable.batch(staged=True, syncfs=failing) as batch:
            fs.atomic_write_bytes(live, b"new", batch=batch)
    assert live.read_bytes() == b"old" and _temp_files(tmp_path) == []
    assert not batch.durable


def test_syncfs_reports_a_failing_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delattr(os, "syncfs", raising=False)
    monkeypatch.setattr(durable, "_libc_syncfs", lambda: lambda _fd: -1)
    syncfs = durable.system_syncfs.__wrapped__()
    assert syncfs is not None
    with pytest.raises(OSError, match="syncfs failed"):
        syncfs(tmp_path)


def test_syncfs_of_a_folder_a_batch_removed_syncs_its_nearest_parent(tmp_path: Path) -> None:
    syncfs = durable.system_syncfs()
    if syncfs is None:
        pytest.skip("no syncfs here")
    syncfs(tmp_path / "gone" / "deeper")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_linux_uses_syncfs_where_the_kernel_reports_its_errors(tmp_path: Path) -> None:
    release = tuple(int(p) for p in os.uname().release.split(".")[:2])
    syncfs = durable.system_syncfs()
    assert (syncfs is not None) == (release >= (5, 8))
    if syncfs is not None:
        syncfs(tmp_path)  # returns 0: no error


def test_writes_without_a_batch_still_fsync_the_file_and_its_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    fs.atomic_write_bytes(tmp_path / "f", b"x")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("kind", "syncfs_used"), [("ext4", True), ("fuse.sshfs", False), ("9p", False), (None, False)]
)
def test_syncfs_is_used_only_on_filesystems_where_it_reaches_the_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str | None, syncfs_used: bool
) -> None:
    rec = Recorder()
    monkeypatch.setattr(durable, "filesystem_type", lambda _path: kind)
    monkeypatch.setattr(durable, "system_syncfs", lambda: rec.syncfs)
    batch = durable.Batch(root=tmp_path, fsync=rec.fsync, fsync_dir=rec.fsync_dir)
    _write_tree(batch, tmp_path)
    batch.flush()
    if syncfs_used:
        assert len(rec.filesystems) == 1 and rec.files == [] and rec.folders == []
    else:  # a network or FUSE filesystem (WSL2's /mnt/c is 9p): an fsync per file and folder
        assert rec.filesystems == [] and len(rec.files) == 5 and tmp_path / "a/b" in rec.folders


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the mount table is Linux's")
def test_the_filesystem_type_comes_from_the_mount_table_even_for_a_mount_point_with_a_space(
    tmp_path: Path,
) -> None:
    assert durable.filesystem_type(Path("/proc/self")) == "proc"
    assert not durable.syncfs_reaches(Path("/proc"))
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = tmp_path / "a disk"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert durable.filesystem_type(mountpoint / "file") == "tmpfs"
        assert durable.syncfs_reaches(mountpoint)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
