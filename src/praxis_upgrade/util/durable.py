"""Batches of writes made durable at their end: one ``syncfs`` on Linux, else one pass of fsyncs."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import ctypes
else:  # heavy: loaded on first use, when a batch is made durable (a dry run writes nothing)
    ctypes = lazy_module("ctypes")

Sync = Callable[[Path], None]  # makes durable what was written under a path
FileSync = Callable[[int], None]  # fsync of an open file
SYSTEM: Final = "system"  # the platform's way: `system_syncfs()` where there is one


def fsync_folder(path: Path) -> None:
    """Make the renames, creations and removals in the folder `path` durable, where that can be
    done (a folder gone, or a filesystem that refuses: nothing to do)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _kernel_reports_errors() -> bool:
    """Linux 5.8 and later: ``syncfs`` returns writeback errors (before, it returned 0 anyway)."""
    try:
        major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 8)


def _libc_syncfs() -> Callable[[int], int] | None:
    """``syncfs`` from the C library, where the kernel has one whose errors can be trusted."""
    if not sys.platform.startswith("linux") or not _kernel_reports_errors():
        return None
    try:
        # the symbols already in this process (libc among them): no `ldconfig` run to find it
        call = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    call.argtypes, call.restype = [ctypes.c_int], ctypes.c_int
    return call


def _open_nearest(path: Path) -> int:
    """An fd of `path`, or of its nearest folder still there (a batch may have removed it)."""
    while True:
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            if path.parent == path:
                raise
            path = path.parent


# filesystems whose syncfs writes everything back to their own disk; on network and FUSE ones
# (9p as WSL2's /mnt/c, sshfs, SMB, NFS) only an fsync reaches the other side
SYNCFS_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "zfs", "overlay"}
)
_OCTAL = re.compile(r"\\([0-7]{3})")


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem `path` is on (``/proc/self/mountinfo``); None where unknown."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
        real = os.path.realpath(path)
    except (OSError, UnicodeDecodeError):
        return None
    best, kind = -1, None
    for line in lines:
        fields, _, after = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not after:
            continue
        mount = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= best:  # the deepest mount; a later one hides an earlier
            best, kind = len(mount), after.split()[0]
    return kind


def syncfs_reaches(path: Path) -> bool:
    """Whether one ``syncfs`` makes what was written under `path` durable on its disk."""
    return filesystem_type(path) in SYNCFS_FILESYSTEMS


@functools.cache
def system_syncfs() -> Sync | None:
    """``syncfs(2)`` of the filesystem a path is on, or None where there is none to use (looked
    up once, on the first batch)."""
    call = _libc_syncfs()
    if call is None:
        return None

    def syncfs(path: Path) -> None:
        fd = _open_nearest(path)
        try:
            if call(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs failed: {os.strerror(err)}", str(path))
        finally:
            os.close(fd)

    return syncfs


class Batch:
    """Writes whose durability is paid once, at `flush`, instead of two fsyncs per file.

    With ``syncfs`` (Linux) files are written and renamed without any fsync, and `flush` syncs
    each filesystem written to once. Without it, each file is fsynced as it is written
    (`sync_file`) and `flush` fsyncs each folder that changed, and its folders up to `root`, once.

    ``staged=True`` keeps the order a live file needs (its bytes durable before its name points
    at them, so a power cut leaves each file old or new, never empty): the renames wait in the
    batch; `flush` syncs, renames them all, then syncs the renames (a file in a folder the batch
    made is fsynced and renamed at once instead). Without it (new files nothing trusts until a
    later marker says so, as in a backup) each rename is done at once.
    """

    def __init__(
        self,
        *,
        staged: bool = False,
        root: Path | None = None,
        syncfs: Sync | None | Literal["system"] = SYSTEM,
        fsync: FileSync = os.fsync,
        fsync_dir: Sync = fsync_folder,
    ) -> None:
        self.staged, self.root = staged, root
        if syncfs == SYSTEM:  # only where syncfs is known to reach the disk (see `syncfs_reaches`)
            syncfs = system_syncfs() if root is not None and syncfs_reaches(root) else None
        self._syncfs = syncfs
        self._fsync, self._fsync_dir = fsync, fsync_dir
        self._pending: list[tuple[str, Path]] = []  # staged (temp file, destination)
        self._folders: dict[Path, None] = {}  # folders whose entries changed, in order
        self._devices: dict[int, Path] = {}  # one folder on each filesystem written to
        self.durable = True  # everything recorded so far is durable

    def sync_file(self, fd: int, *, new_folder: bool = False) -> None:
        """fsync a file just written, before its rename, when nothing later syncs its bytes:
        no ``syncfs``, or a staged batch placing it at once (see `place`)."""
        if self._syncfs is None or (self.staged and new_folder):
            self._fsync(fd)

    def changed(self, folder: Path) -> None:
        """Note that an entry of `folder` was created, renamed or removed."""
        self.durable = False
        if folder in self._folders:
            return
        self._folders[folder] = None
        with contextlib.suppress(OSError):
            self._devices.setdefault(os.stat(folder).st_dev, folder)

    def place(self, tmp: str, path: Path, *, new_folder: bool = False) -> None:
        """Put the written temp file `tmp` at `path`: at once, or at `flush` when staged.

        A staged file whose folder this write made goes at once all the same (its bytes were
        fsynced by `sync_file`): a kill before `flush` must not leave that folder empty, with
        no file in it for a rollback to remove it with.
        """
        self.changed(path.parent)
        if self.staged and not new_folder:
            self._pending.append((tmp, path))
        else:
            os.replace(tmp, path)

    def flush(self) -> None:
        """Make everything recorded durable; staged files take their places first."""
        if self._pending:
            self._sync_filesystems()  # their bytes, before any name points at them
            for tmp, path in self._pending:
                os.replace(tmp, path)
            self._pending.clear()
        if self._syncfs is not None:
            self._sync_filesystems()
        else:
            for folder in self._with_parents():
                self._fsync_dir(folder)
        self._folders.clear()
        self._devices.clear()
        self.durable = True

    def discard(self) -> None:
        """Drop the staged writes not yet in place (their temp files go); claims nothing."""
        for tmp, _path in self._pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._pending.clear()

    def _sync_filesystems(self) -> None:
        if self._syncfs is not None:
            for anchor in self._devices.values():
                self._syncfs(anchor)

    def _with_parents(self) -> list[Path]:
        """The changed folders and, up to `root`, the folders holding them (a folder made new
        must itself be durable in its parent): each once, deepest first."""
        found: dict[Path, None] = {}
        for folder in self._folders:
            found[folder] = None
            if self.root is not None and folder.is_relative_to(self.root):
                for parent in folder.parents:
                    if not parent.is_relative_to(self.root):
                        break
                    found[parent] = None
        return sorted(found, key=lambda p: -len(p.parts))


@contextlib.contextmanager
def batch(
    *,
    staged: bool = False,
    root: Path | None = None,
    syncfs: Sync | None | Literal["system"] = SYSTEM,
) -> Iterator[Batch]:
    """A `Batch` flushed when the block ends; if the block raises, staged writes are dropped and
    nothing is claimed durable."""
    current = Batch(staged=staged, root=root, syncfs=syncfs)
    try:
        yield current
        current.flush()
    except BaseException:
        current.discard()
        raise
