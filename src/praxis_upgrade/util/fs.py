"""Atomic file writes, hashing and path containment: the only place that writes files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from praxis_upgrade.errors import PathEscapeError
from praxis_upgrade.util.durable import Batch, fsync_folder

CHUNK = 1 << 20


def current_umask() -> int:
    """The process's umask: from ``/proc/self/status`` where the kernel reports it, else by
    setting it and putting it back (which is not thread-safe for that instant)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for_write(path: Path, mode: int | None) -> int:
    """``mode`` when given; else what git does: a file being replaced keeps its mode, a new file
    gets ``0o666`` less the umask (a temp file alone would be ``0o600``)."""
    if mode is not None:
        return mode
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def _replacing(
    path: Path, mode: int | None, sync: bool = True, batch: Batch | None = None
) -> Iterator[BinaryIO]:
    """Yield a temp file beside ``path``; on success fsync it, set its mode, rename it onto
    ``path``.

    The mode is ``mode`` when given, else the replaced file's, else ``0o666`` less the umask.
    ``sync=False`` skips the fsyncs (still atomic, not durable): for caches whose readers verify
    what they read and can do without an entry. With a `batch` the batch decides when the file
    is synced and takes its place (`Batch.sync_file`, `Batch.place`); no folder is fsynced.
    """
    new_folder = batch is not None and not path.parent.is_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if batch is not None:
                batch.sync_file(f.fileno(), new_folder=new_folder)
            elif sync:
                os.fsync(f.fileno())
        os.chmod(tmp, _mode_for_write(path, mode))
        if batch is not None:
            batch.place(tmp, path, new_folder=new_folder)
            return
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_folder(path.parent)


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    sync: bool = True,
    batch: Batch | None = None,
) -> None:
    """Write `data` to `path` via a temp file in the same directory, fsync, then replace.

    A reader sees the old file or the new one, never a partial one. `mode` (permission bits)
    is applied before the file appears under its name; without it a replaced file keeps its
    mode and a new one follows the umask (``0o666 & ~umask``, as git writes files). With a
    `batch`, the batch makes it durable (see `_replacing`).
    """
    with _replacing(path, mode, sync, batch=batch) as f:
        f.write(data)


def atomic_write_text(
    path: Path, text: str, *, mode: int | None = None, batch: Batch | None = None
) -> None:
    """Atomically write UTF-8 text (newlines kept as given)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, batch=batch)


def atomic_write_json(
    path: Path, obj: Any, *, mode: int | None = None, batch: Batch | None = None
) -> None:
    """Atomically write `obj` as indented, key-sorted JSON."""
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text, mode=mode, batch=batch)


def atomic_copy(
    src: Path, dst: Path, *, mode: int | None = None, batch: Batch | None = None
) -> None:
    """Copy `src` to `dst` atomically (streamed, temp file + fsync + replace), keeping its mode;
    with a `batch`, the batch makes it durable."""
    keep = mode if mode is not None else (os.stat(src).st_mode & 0o7777)
    with _replacing(dst, keep, batch=batch) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, CHUNK)


def atomic_write_chunks(
    path: Path,
    chunks: Iterable[bytes],
    *,
    mode: int | None = None,
    check: Callable[[str], None] | None = None,
    sync: bool = True,
    batch: Batch | None = None,
) -> str:
    """Atomically write `chunks` (as `atomic_write_bytes`), hashing them on the way; return their
    sha256. `check(sha256)` runs before the file takes `path`'s place: if it raises, `path` is
    left as it was. Memory stays at one chunk, whatever the size of the file."""
    digest = hashlib.sha256()
    with _replacing(path, mode, sync, batch=batch) as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
        if check is not None:
            check(digest.hexdigest())
    return digest.hexdigest()


def write_scratch(path: Path, chunks: Iterable[bytes]) -> str:
    """Write `chunks` to a scratch file in a private folder (no temp file, no fsync: it dies with
    its folder); return their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def file_chunks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    """The bytes of a file, `size` at a time."""
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def read_prefix(path: Path, size: int) -> bytes:
    """The first `size` bytes of a file (all of it when shorter)."""
    with open(path, "rb") as f:
        return f.read(size)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Streamed sha256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_entry(path: str | os.PathLike[str]) -> str | None:
    """sha256 of a regular file's bytes, or of a symlink's target text (never followed);
    None when nothing is there. OSError when it exists but cannot be read (or is a folder)."""
    st = os.lstat(path) if os.path.lexists(path) else None
    if st is None:
        return None
    if stat.S_ISLNK(st.st_mode):
        return hashlib.sha256(b"symlink\0" + os.fsencode(os.readlink(path))).hexdigest()
    if not stat.S_ISREG(st.st_mode):
        raise IsADirectoryError(f"{path} is not a regular file or a link")
    return sha256_file(path)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def kept_as_is(path: Path) -> str | None:
    """Why the tool leaves `path`, a file of the user's beside the install, as it is: it is a
    symlink (a rewrite would replace the link with a file), it is read-only, or its folder may
    not be written; None when it may be rewritten."""
    if path.is_symlink():
        return f"{path} is a symlink (to {os.readlink(path)}); left untouched so the link stays"
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        return f"{path} is read-only; left untouched"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{path.parent} is not writable; {path.name} left untouched"
    return None


def inside(root: Path, relpath: str, *, follow_last: bool = True) -> Path:
    """Return `root/relpath`, refusing absolute paths, `..` and symlinks that lead outside `root`.

    With ``follow_last=False`` a symlink at `relpath` itself is not followed (only its folder
    must stay inside): it is the object to read, keep or replace, never a way out.

    Raises:
        PathEscapeError: the path (or a symlink on the way to it) escapes `root`.
    """
    return Confined(root)(relpath, follow_last=follow_last)


class Confined:
    """`inside` for many paths under one root: the root and each folder are resolved once.

    For a loop that reads (a backup's paths, a backup's copies, a plan): a folder swapped for
    a symlink while the loop runs is not seen, as it would not be between a check and a use.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._real_dirs: dict[str, str] = {}  # folder as given -> its real path

    def __call__(self, relpath: str, *, follow_last: bool = True) -> Path:
        """`inside(root, relpath, follow_last=...)`; PathEscapeError likewise."""
        parts = [p for p in relpath.replace(os.sep, "/").split("/") if p and p != "."]
        if os.path.isabs(relpath) or ".." in parts or relpath.startswith(("/", "\\")):
            raise PathEscapeError(
                f"refusing path {relpath!r}: it would leave {self.root}",
                hint="managed paths must be relative and stay inside the install",
            )
        if not parts:  # the root itself
            return self.root
        candidate = self.root.joinpath(*parts)
        # resolve parents (and the file itself if it is a link) to catch escaping symlinks
        if follow_last and os.path.islink(candidate):
            real = os.path.realpath(candidate)
        else:
            folder = "/".join(parts[:-1])
            real_folder = self._real_dirs.get(folder)
            if real_folder is None:
                real_folder = self._real_dirs[folder] = os.path.realpath(
                    os.path.join(self.root, *parts[:-1])
                )
            real = os.path.join(real_folder, parts[-1])
        real_root = self._real_root
        if real != real_root and not real.startswith(real_root + os.sep):
            raise PathEscapeError(
                f"refusing path {relpath!r}: it resolves to {real}, outside {self.root}",
                hint="remove or fix the symlink, then run again",
            )
        return candidate


def drop_bytecode(path: Path) -> None:
    """Remove the cached bytecode of a Python source file we just replaced or removed.

    Python trusts a ``.pyc`` whose recorded source mtime (whole seconds) and size match, so a
    file replaced within the same second by one of the same size (``VERSION = "1.5.0"`` for
    ``"1.6.0"``) would otherwise keep running the old code.
    """
    if path.suffix != ".py":
        return
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        with contextlib.suppress(OSError):
            pyc.unlink()


def remove_empty_dirs(start: Path, stop: Path) -> None:
    """Remove `start` and its parents while they are empty, never removing `stop` or above."""
    current = start
    stop_r = stop.resolve()
    while current.resolve() != stop_r and stop_r in current.resolve().parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def _bytecode_caches(folder: Path) -> list[Path] | None:
    """The ``__pycache__`` folders in `folder` when it holds nothing else and they hold only
    ``*.pyc`` files; None when `folder` holds anything more (or cannot be read)."""
    caches = []
    try:
        for entry in os.scandir(folder):
            if entry.name != "__pycache__" or not entry.is_dir(follow_symlinks=False):
                return None
            if any(
                not f.name.endswith(".pyc") or not f.is_file(follow_symlinks=False)
                for f in os.scandir(entry.path)
            ):
                return None
            caches.append(Path(entry.path))
    except OSError:
        return None
    return caches


def remove_dirs_left_with_bytecode(start: Path, stop: Path) -> None:
    """Remove `start` and its parents, never `stop` or above, while they are empty or hold only
    bytecode caches (``__pycache__/*.pyc``, written by Python beside the sources it ran): a
    folder whose sources were removed must not stay behind as an empty namespace package."""
    current = start
    stop_r = stop.resolve()
    while current.resolve() != stop_r and stop_r in current.resolve().parents:
        caches = _bytecode_caches(current)
        if caches is None:
            return
        try:
            for cache in caches:
                for pyc in cache.iterdir():
                    pyc.unlink()
                cache.rmdir()
            current.rmdir()
        except OSError:  # something appeared meanwhile: it is someone's, the folder stays
            return
        current = current.parent


def tree_size(folder: Path) -> int:
    """Bytes of every file and link under `folder` (links not followed; 0 when it is gone)."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total
