"""Making a backup of exactly the paths an upgrade may touch, verified before it is marked
complete."""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from praxis_upgrade.backups.manifest import (
    BACKUPS,
    COMPLETE,
    FILES,
    MANIFEST,
    OUTSIDE,
    RUNTIME_DIRS,
    STARTED,
    Backup,
    Entry,
    Manifest,
    check_contents,
)
from praxis_upgrade.errors import BackupError, PathEscapeError
from praxis_upgrade.util import durable, fs
from praxis_upgrade.util.clock import utcnow


def _local_now() -> dt.datetime:
    return dt.datetime.now()


def create_backup(
    target: Path,
    paths: Iterable[str],
    *,
    outside: Iterable[Path] = (),
    meta: dict[str, Any],
    progress: Callable[[int, int, str], None] | None = None,
) -> Backup:
    """Back up `paths` (relative to `target`) and `outside` files, verify the copy, then mark it
    COMPLETE.

    Absent paths are recorded as absent so a restore can remove what the upgrade added. Symlinks are
    stored as links, never followed. Cost is proportional to the listed paths only. `progress` is
    called as `(done, total, path)` after each path is stored.

    Raises:
        BackupError: a path escapes the install or is unusable, or the backup could not be written.
    """
    rels = _expand(target, paths)
    outs = sorted({os.path.abspath(p) for p in outside})
    jobs = [(rel, target / rel, f"{FILES}/{rel}", False) for rel in rels]
    jobs += [(out, Path(out), f"{OUTSIDE}/{i}", True) for i, out in enumerate(outs)]
    folder = _make_folder(target, meta)
    try:
        manifest = Manifest(
            meta={**meta, "target": os.path.realpath(target), "created_at": utcnow(), "format": 1}
        )
        # the copies and the manifest: durable at once (one syncfs), before COMPLETE says so
        with durable.batch(root=folder.parent) as batch:
            for done, (label, src, stored, is_outside) in enumerate(jobs, 1):
                _add(manifest, label, src, is_outside, _store(src, folder, stored, label, batch))
                if progress is not None:
                    progress(done, len(jobs), label)
            _write_manifest(folder, manifest, batch, index=bool(outs))
        fs.atomic_write_json(
            folder / COMPLETE,
            {"manifest_sha256": fs.sha256_file(folder / MANIFEST), "at": utcnow()},
        )
    except BaseException as e:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):
            where = f" ({e.filename})" if e.filename else ""
            raise BackupError(
                f"could not make the backup in {folder}: {e.strerror or e}{where}",
                hint=(
                    "free some disk space, then run again; nothing was changed"
                    if e.errno == errno.ENOSPC
                    else "check that the file is readable and the backup folder writable; "
                    "nothing was changed"
                ),
            ) from e
        raise
    return Backup.load(folder)


def _add(manifest: Manifest, label: str, src: Path, is_outside: bool, entry: Entry | None) -> None:
    """Record one stored path (or its absence) in the manifest."""
    if entry is None:
        (manifest.outside_absent if is_outside else manifest.absent).append(label)
        manifest.keep_dirs[label] = _existing_parent(src)
    else:
        (manifest.outside if is_outside else manifest.files)[label] = entry


def _write_manifest(folder: Path, manifest: Manifest, batch: durable.Batch, *, index: bool) -> None:
    """Write the manifest (and, with `index`, the index of outside files), then check every copy
    against it.

    Raises:
        BackupError: a copy does not match what was recorded.
    """
    if index:
        stored = {e.stored: p for p, e in manifest.outside.items()}
        fs.atomic_write_json(folder / OUTSIDE / "INDEX.json", stored, batch=batch)
    fs.atomic_write_json(folder / MANIFEST, manifest.to_json(), batch=batch)
    problems = check_contents(folder, manifest)
    if problems:
        raise BackupError(
            f"the backup in {folder} failed verification right after it was written:\n  "
            + "\n  ".join(problems[:20]),
            hint="a file changed while it was copied, or the disk is failing; run again",
        )


def _expand(target: Path, paths: Iterable[str]) -> list[str]:
    out: set[str] = set()
    confined = fs.Confined(target)
    for raw in paths:
        try:
            full = confined(str(raw), follow_last=False)
        except PathEscapeError as e:
            raise BackupError(f"refusing to back up {raw!r}: {e.message}", hint=e.hint) from None
        rel = Path(str(raw)).as_posix()
        top = Path(rel).parts[:1]
        if not top or top == (BACKUPS,):
            raise BackupError(
                f"refusing to back up {raw!r}: it is the install itself or inside its backups"
            )
        if full.is_dir() and not full.is_symlink():
            if top[0] in RUNTIME_DIRS:
                raise BackupError(
                    f"refusing to back up the directory {rel!r} wholesale",
                    hint="venv/, workspace/ and .cache/ are never copied; list individual files",
                )
            for dirpath, dirnames, filenames in os.walk(full):
                for name in filenames + [
                    d for d in dirnames if os.path.islink(os.path.join(dirpath, d))
                ]:
                    out.add(Path(dirpath, name).relative_to(target).as_posix())
        else:
            out.add(rel)
    return sorted(out)


def expand_paths(target: Path, paths: Iterable[str]) -> list[str]:
    """The sorted target-relative files (and symlinks) `paths` stand for; directories are expanded.

    Raises:
        BackupError: a path escapes the install, is the install itself, or is a runtime directory.
    """
    return _expand(target, paths)


def _existing_parent(path: Path) -> str:
    """The deepest ancestor of `path` that exists now (a restore never removes it or above)."""
    parent = path.parent
    while not parent.is_dir() and parent != parent.parent:
        parent = parent.parent
    return str(parent)


def _make_folder(target: Path, meta: dict[str, Any]) -> Path:
    root = target / BACKUPS
    if not target.is_dir():
        raise BackupError(
            f"{target} is not a directory", hint="point at the project's .praxis-os folder"
        )
    try:
        root.mkdir(exist_ok=True)
        if not (root / ".gitignore").exists():
            fs.atomic_write_text(
                root / ".gitignore", "# backups made by praxis-upgrade: never commit them\n*\n"
            )
        base = _local_now().strftime("%Y-%m-%d-%H%M%S")
        for n in range(1, 1000):
            folder = root / (base if n == 1 else f"{base}-{n}")
            try:
                folder.mkdir()  # atomic: exactly one caller gets each name
                break
            except FileExistsError:
                continue
        else:
            raise BackupError(f"too many backups named {base}* in {root}")
        started = {
            "target": os.path.realpath(target),
            "session": meta.get("session"),
            "pid": os.getpid(),
        }
        fs.atomic_write_json(folder / STARTED, {**started, "created_at": utcnow()})
    except OSError as e:
        raise BackupError(
            f"cannot create a backup folder in {root}: {e.strerror or e}",
            hint=f"make sure {root} is a writable directory (move away any file of that name)",
        ) from e
    return folder


def _store(src: Path, folder: Path, stored: str, label: str, batch: durable.Batch) -> Entry | None:
    try:
        st = src.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    dst = folder / stored
    if stat.S_ISLNK(st.st_mode):
        dst.parent.mkdir(parents=True, exist_ok=True)
        link = os.readlink(src)
        os.symlink(link, dst)
        batch.changed(dst.parent)
        return Entry("symlink", stored, link=link)
    if not stat.S_ISREG(st.st_mode):
        raise BackupError(
            f"cannot back up {label}: not a regular file or symlink",
            hint="move it away, then run again",
        )
    seen = _identity(st)

    def unchanged(_sha256: str) -> None:  # hashed as copied: a file written meanwhile is refused
        if _identity(src.lstat()) != seen:
            raise BackupError(
                f"cannot back up {label}: it changed while it was copied",
                hint="let whatever writes it finish, then run again; nothing was changed",
            )

    mode = stat.S_IMODE(st.st_mode)
    chunks = fs.file_chunks(src)
    digest = fs.atomic_write_chunks(dst, chunks, mode=mode, check=unchanged, batch=batch)
    return Entry("file", stored, sha256=digest, mode=mode, size=st.st_size)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a file is written: its size, times and inode."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino
