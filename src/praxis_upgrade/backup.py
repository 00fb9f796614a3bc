"""Verified backups of exactly the paths an upgrade may touch: the manifest, making and verifying them."""
from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade import fs
from praxis_upgrade.errors import BackupError, PathEscapeError

if TYPE_CHECKING:
    from praxis_upgrade.restore import RestoreReport

BACKUPS = ".backups"
MANIFEST, COMPLETE, GOOD, STARTED = "MANIFEST.json", "COMPLETE", "GOOD", "STARTED.json"
FILES, OUTSIDE = "files", "outside"
RUNTIME_DIRS = ("venv", "workspace", ".cache", BACKUPS)  # never copied wholesale
ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{6}(?:-(\d+))?$")
MIB = 1 << 20


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _local_now() -> dt.datetime:
    return dt.datetime.now()


@dataclasses.dataclass
class Entry:
    """One recorded path: a regular file (sha256, mode, size) or a symlink (its link text)."""

    kind: str  # "file" | "symlink"
    stored: str  # where the copy lives, relative to the backup folder
    sha256: str = ""
    mode: int = 0
    size: int = 0
    link: str = ""


@dataclasses.dataclass
class Manifest:
    """What a backup holds: target-relative files, recorded-absent paths, and files outside the install."""

    meta: dict[str, Any]
    files: dict[str, Entry] = dataclasses.field(default_factory=dict)
    absent: list[str] = dataclasses.field(default_factory=list)
    outside: dict[str, Entry] = dataclasses.field(default_factory=dict)  # absolute path -> entry
    outside_absent: list[str] = dataclasses.field(default_factory=list)
    keep_dirs: dict[str, str] = dataclasses.field(default_factory=dict)  # absent path -> deepest dir that existed

    @property
    def size(self) -> int:
        return sum(e.size for e in [*self.files.values(), *self.outside.values()])

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            meta=dict(data["meta"]),
            files={k: Entry(**v) for k, v in data["files"].items()},
            absent=list(data["absent"]),
            outside={k: Entry(**v) for k, v in data["outside"].items()},
            outside_absent=list(data["outside_absent"]),
            keep_dirs=dict(data.get("keep_dirs", {})),
        )


@dataclasses.dataclass
class Backup:
    """One backup folder `.praxis-os/.backups/<id>/`; only `complete` ones are ever used or counted."""

    id: str
    path: Path
    complete: bool
    good: bool
    size: int
    created_at: str
    meta: dict[str, Any]

    @property
    def target(self) -> str | None:
        return self.meta.get("target")

    @property
    def session(self) -> str | None:
        return self.meta.get("session")

    @property
    def from_version(self) -> str | None:
        return self.meta.get("from_version")

    @property
    def to_version(self) -> str | None:
        return self.meta.get("to_version")

    def manifest(self) -> Manifest:
        return read_manifest(self.path)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "path": str(self.path)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Backup:
        return cls(**{**data, "path": Path(data["path"])})

    @classmethod
    def load(cls, folder: Path) -> Backup:
        """Describe a backup folder; a missing COMPLETE marker or unreadable manifest makes it incomplete."""
        complete = (folder / COMPLETE).is_file()
        meta: dict[str, Any] = {}
        size = 0
        if complete:
            try:
                manifest = read_manifest(folder)
                meta, size = manifest.meta, manifest.size
            except BackupError as e:
                complete, meta = False, {"error": e.message}
        if not complete:
            started = folder / STARTED
            if started.is_file():
                try:
                    meta = {**fs.read_json(started), **meta}
                except (OSError, ValueError):
                    pass
            size = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
        created = meta.get("created_at") or dt.datetime.fromtimestamp(
            folder.stat().st_mtime, dt.timezone.utc
        ).isoformat(timespec="microseconds")
        return cls(folder.name, folder, complete, complete and (folder / GOOD).is_file(), size, created, meta)


def read_manifest(folder: Path) -> Manifest:
    """Read `MANIFEST.json` of a backup folder.

    Raises:
        BackupError: missing or unreadable manifest.
    """
    try:
        return Manifest.from_json(fs.read_json(folder / MANIFEST))
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST}", hint="it is not a usable backup") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BackupError(f"{folder / MANIFEST} is unreadable: {e}", hint="the backup is damaged") from None


def create_backup(
    target: Path,
    paths: Iterable[str],
    *,
    outside: Iterable[Path] = (),
    meta: dict[str, Any],
    progress: Callable[[int, int, str], None] | None = None,
) -> Backup:
    """Back up `paths` (relative to `target`) and `outside` files, verify the copy, then mark it COMPLETE.

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
        manifest = Manifest(meta={**meta, "target": os.path.realpath(target), "created_at": utcnow(), "format": 1})
        for done, (label, src, stored, is_outside) in enumerate(jobs, 1):
            entry = _store(src, folder, stored, label)
            if entry is None:
                (manifest.outside_absent if is_outside else manifest.absent).append(label)
                manifest.keep_dirs[label] = _existing_parent(src)
            else:
                (manifest.outside if is_outside else manifest.files)[label] = entry
            if progress is not None:
                progress(done, len(jobs), label)
        if outs:
            fs.atomic_write_json(folder / OUTSIDE / "INDEX.json", {e.stored: p for p, e in manifest.outside.items()})
        fs.atomic_write_json(folder / MANIFEST, manifest.to_json())
        problems = check_contents(folder, manifest)
        if problems:
            raise BackupError(
                f"the backup in {folder} failed verification right after it was written:\n  "
                + "\n  ".join(problems[:20]),
                hint="a file changed while it was copied, or the disk is failing; run again",
            )
        fs.atomic_write_json(folder / COMPLETE, {"manifest_sha256": fs.sha256_file(folder / MANIFEST), "at": utcnow()})
    except BaseException as e:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):
            where = f" ({e.filename})" if e.filename else ""
            raise BackupError(
                f"could not make the backup in {folder}: {e.strerror or e}{where}",
                hint="free some disk space, then run again; nothing was changed"
                if e.errno == errno.ENOSPC
                else "check that the file is readable and the backup folder writable; nothing was changed",
            ) from e
        raise
    return Backup.load(folder)


def _expand(target: Path, paths: Iterable[str]) -> list[str]:
    out: set[str] = set()
    for raw in paths:
        try:
            full = fs.inside(target, str(raw))
        except PathEscapeError as e:
            raise BackupError(f"refusing to back up {raw!r}: {e.message}", hint=e.hint) from None
        rel = Path(str(raw)).as_posix()
        top = Path(rel).parts[:1]
        if not top or top == (BACKUPS,):
            raise BackupError(f"refusing to back up {raw!r}: it is the install itself or inside its backups")
        if full.is_dir() and not full.is_symlink():
            if top[0] in RUNTIME_DIRS:
                raise BackupError(
                    f"refusing to back up the directory {rel!r} wholesale",
                    hint="venv/, workspace/ and .cache/ are never copied; list individual files",
                )
            for dirpath, dirnames, filenames in os.walk(full):
                for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
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
        raise BackupError(f"{target} is not a directory", hint="point at the project's .praxis-os folder")
    try:
        root.mkdir(exist_ok=True)
        if not (root / ".gitignore").exists():
            fs.atomic_write_text(root / ".gitignore", "# backups made by praxis-upgrade: never commit them\n*\n")
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
        started = {"target": os.path.realpath(target), "session": meta.get("session"), "pid": os.getpid()}
        fs.atomic_write_json(folder / STARTED, {**started, "created_at": utcnow()})
    except OSError as e:
        raise BackupError(
            f"cannot create a backup folder in {root}: {e.strerror or e}",
            hint=f"make sure {root} is a writable directory (move away any file of that name)",
        ) from e
    return folder


def _store(src: Path, folder: Path, stored: str, label: str) -> Entry | None:
    try:
        st = src.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    dst = folder / stored
    if stat.S_ISLNK(st.st_mode):
        dst.parent.mkdir(parents=True, exist_ok=True)
        link = os.readlink(src)
        os.symlink(link, dst)
        return Entry("symlink", stored, link=link)
    if not stat.S_ISREG(st.st_mode):
        raise BackupError(f"cannot back up {label}: not a regular file or symlink", hint="move it away, then run again")
    digest = fs.sha256_file(src)
    fs.atomic_copy(src, dst, mode=stat.S_IMODE(st.st_mode))
    return Entry("file", stored, sha256=digest, mode=stat.S_IMODE(st.st_mode), size=st.st_size)


def check_entry(stored: Path, entry: Entry) -> str | None:
    """Why the stored copy does not match its entry, or None when it does."""
    if entry.kind == "symlink":
        if not stored.is_symlink():
            return f"missing (stored link {stored} is gone)"
        now = os.readlink(stored)
        return None if now == entry.link else f"tampered (link points to {now!r}, expected {entry.link!r})"
    if stored.is_symlink() or not stored.is_file():
        return f"missing ({stored} is gone)"
    if stored.stat().st_size != entry.size or fs.sha256_file(stored) != entry.sha256:
        return f"tampered ({stored} no longer matches its sha256 {entry.sha256[:12]}...)"
    return None


def check_contents(folder: Path, manifest: Manifest) -> list[str]:
    """Re-read every stored copy against the manifest; one problem string per bad path."""
    problems = []
    for label, entry in [*manifest.files.items(), *manifest.outside.items()]:
        try:
            why = check_entry(fs.inside(folder, entry.stored), entry)
        except PathEscapeError:
            why = f"tampered (manifest points outside the backup: {entry.stored!r})"
        if why:
            problems.append(f"{label}: {why}")
    return problems


def verify_backup(backup_dir: Path) -> list[str]:
    """Problems that make a backup unusable (incomplete, tampered or missing files, named); [] when sound."""
    problems = []
    marker = backup_dir / COMPLETE
    if not marker.is_file():
        problems.append(f"incomplete: {backup_dir} has no {COMPLETE} marker (it was interrupted while being made)")
    try:
        manifest = read_manifest(backup_dir)
    except BackupError as e:
        return [*problems, e.message]
    if marker.is_file():
        try:
            expected = fs.read_json(marker).get("manifest_sha256")
        except (OSError, ValueError, AttributeError):
            expected = None
        if expected != fs.sha256_file(backup_dir / MANIFEST):
            problems.append(f"{MANIFEST}: tampered (it no longer matches the checksum recorded in {COMPLETE})")
    return problems + check_contents(backup_dir, manifest)


# The rest lives in restore.py and retention.py; these shortcuts keep `backup.<name>` working for callers.


def list_backups(target: Path) -> list[Backup]:
    """Every backup folder of `target`, newest first (see `retention.list_backups`)."""
    from praxis_upgrade import retention

    return retention.list_backups(target)


def find_backup(target: Path, backup_id: str) -> Backup:
    """The complete backup `backup_id` of `target` (see `retention.find_backup`)."""
    from praxis_upgrade import retention

    return retention.find_backup(target, backup_id)


def mark_good(backup: Backup) -> None:
    """Record that the upgrade this backup was made for completed (see `retention.mark_good`)."""
    from praxis_upgrade import retention

    retention.mark_good(backup)


def space_needed(target: Path, paths: Iterable[str], *, write_bytes: int) -> int:
    """Bytes a backup of `paths` plus `write_bytes` of new content take (see `retention.space_needed`)."""
    from praxis_upgrade import retention

    return retention.space_needed(target, paths, write_bytes=write_bytes)


def check_space(folder: Path, needed: int) -> None:
    """Refuse to start without `needed` bytes plus a margin (see `retention.check_space`)."""
    from praxis_upgrade import retention

    retention.check_space(folder, needed)


def restore_backup(target: Path, backup: Backup, **kwargs: Any) -> RestoreReport:
    """Shortcut for `praxis_upgrade.restore.restore_backup` (same arguments)."""
    from praxis_upgrade import restore

    return restore.restore_backup(target, backup, **kwargs)


def prune_backups(target: Path, keep: int, *, protect: Iterable[str] = ()) -> list[str]:
    """Shortcut for `praxis_upgrade.retention.prune_backups` (same arguments)."""
    from praxis_upgrade import retention

    return retention.prune_backups(target, keep, protect=protect)
