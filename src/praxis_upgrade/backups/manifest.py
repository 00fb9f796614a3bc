"""A backup's manifest: what it holds (checksums, modes, links), reading it and verifying it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from praxis_upgrade.errors import BackupError, PathEscapeError
from praxis_upgrade.store import BACKUPS_DIR, CACHE_DIR, VENV_DIR
from praxis_upgrade.util import fs
from praxis_upgrade.util.jsonstream import JsonReader

BACKUPS = BACKUPS_DIR
MANIFEST, COMPLETE, GOOD, STARTED = "MANIFEST.json", "COMPLETE", "GOOD", "STARTED.json"
FILES, OUTSIDE = "files", "outside"
KEPT_VENV = "venv"  # the venv the upgrade replaced, kept for an offline rollback
RUNTIME_DIRS = (VENV_DIR, "workspace", CACHE_DIR, BACKUPS)  # never copied wholesale
ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{6}(?:-(\d+))?$")
MIB = 1 << 20
T = TypeVar("T")


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
    """What a backup holds: target-relative files, recorded-absent paths, and files outside the
    install."""

    meta: dict[str, Any]
    files: dict[str, Entry] = dataclasses.field(default_factory=dict)
    absent: list[str] = dataclasses.field(default_factory=list)
    outside: dict[str, Entry] = dataclasses.field(default_factory=dict)  # absolute path -> entry
    outside_absent: list[str] = dataclasses.field(default_factory=list)
    keep_dirs: dict[str, str] = dataclasses.field(
        default_factory=dict
    )  # absent path -> deepest dir that existed

    @property
    def size(self) -> int:
        return sum(e.size for e in [*self.files.values(), *self.outside.values()])

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Raises ValueError (or KeyError, TypeError) for anything but the shape it was written
        in: a damaged or hand-made manifest is never half used."""
        return cls(
            meta=_typed(data["meta"], dict, "meta"),
            files=_entries(data["files"], "files"),
            absent=_strings(data["absent"], "absent"),
            outside=_entries(data["outside"], "outside"),
            outside_absent=_strings(data["outside_absent"], "outside_absent"),
            keep_dirs={
                k: _typed(v, str, "keep_dirs")
                for k, v in _typed(data.get("keep_dirs", {}), dict, "keep_dirs").items()
            },
        )


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ValueError(f"{where}: expected {kind.__name__}, found {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    return [_typed(item, str, where) for item in _typed(value, list, where)]


_ENTRY_FIELDS = {"kind": str, "stored": str, "sha256": str, "mode": int, "size": int, "link": str}


def _entries(value: Any, where: str) -> dict[str, Entry]:
    return {
        label: _entry(fields, where, label) for label, fields in _typed(value, dict, where).items()
    }


def _entry(value: Any, where: str, label: str) -> Entry:
    fields = _typed(value, dict, f"{where}[{label!r}]")
    for name, kind in _ENTRY_FIELDS.items():
        if name in fields:
            _typed(fields[name], kind, f"{where}[{label!r}].{name}")
    entry = Entry(**fields)
    if entry.kind not in ("file", "symlink"):
        raise ValueError(f"{where}[{label!r}]: unknown kind {entry.kind!r}")
    return entry


def _summary(reader: JsonReader) -> tuple[dict[str, Any], int]:
    """(meta, size) of a manifest, checked as ``Manifest.from_json`` checks it, but read an
    entry at a time: listing backups never holds a big backup's manifest."""
    data: dict[str, Any] = {}
    # bytes per part: a part given twice counts once, the last, as json.loads keeps it (a label
    # given twice within a part, which this tool never writes, counts each time: no label set
    # is held)
    sizes: dict[str, int] = {}
    for key in reader.members():
        if key in ("files", "outside"):
            sizes[key] = sum(_entry(reader.value(), key, label).size for label in reader.members())
            data[key] = True
        else:
            data[key] = reader.value()
    reader.end()
    size = sum(sizes.values())
    for key in ("meta", "files", "absent", "outside", "outside_absent"):
        if key not in data:
            raise KeyError(key)  # as from_json
    _strings(data["absent"], "absent")
    _strings(data["outside_absent"], "outside_absent")
    for value in _typed(data.get("keep_dirs", {}), dict, "keep_dirs").values():
        _typed(value, str, "keep_dirs")
    return _typed(data["meta"], dict, "meta"), size


@dataclasses.dataclass
class Backup:
    """One backup folder `.praxis-os/.backups/<id>/`; only `complete` ones are ever used or
    counted."""

    id: str
    path: Path
    complete: bool  # finished: its COMPLETE marker was written
    good: bool
    size: int
    created_at: str
    meta: dict[str, Any]
    damaged: str | None = None  # why a finished backup cannot be used (its manifest is unreadable)

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

    @property
    def kept_venv(self) -> Path:
        """Where the venv this backup's upgrade replaced is kept (present only if kept)."""
        return self.path / KEPT_VENV

    def manifest(self) -> Manifest:
        return read_manifest(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "path": str(self.path),
            "venv_kept": self.kept_venv.is_dir(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Backup:
        names = {f.name for f in dataclasses.fields(cls)} - {"path"}
        return cls(**{k: v for k, v in data.items() if k in names}, path=Path(data["path"]))

    @classmethod
    def load(cls, folder: Path) -> Backup:
        """Describe a backup folder: incomplete without its COMPLETE marker (interrupted while
        being made), `damaged` when it was finished but its manifest is unreadable since."""
        complete = (folder / COMPLETE).is_file()
        meta: dict[str, Any] = {}
        size, damaged = 0, None
        if complete:
            try:
                meta, size = read_manifest_summary(folder)
            except BackupError as e:
                damaged, meta = e.message, {"error": e.message}
        if not complete or damaged:
            started = folder / STARTED
            if started.is_file():
                try:
                    meta = {**fs.read_json(started), **meta}
                except (OSError, ValueError, TypeError):
                    pass
            size = fs.tree_size(folder)
        created = meta.get("created_at")
        if not isinstance(created, str) or not created:
            created = dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.timezone.utc).isoformat(
                timespec="microseconds"
            )
        return cls(
            folder.name,
            folder,
            complete,
            complete and (folder / GOOD).is_file(),
            size,
            created,
            meta,
            damaged,
        )


def read_manifest(folder: Path) -> Manifest:
    """Read `MANIFEST.json` of a backup folder.

    Raises:
        BackupError: missing or unreadable manifest (the backup is damaged).
    """
    return _read(folder, lambda stream: Manifest.from_json(json.load(stream)))


def read_manifest_summary(folder: Path) -> tuple[dict[str, Any], int]:
    """(meta, size in bytes) of a backup's manifest, checked whole as `read_manifest` checks it,
    with the memory of one entry. BackupError as `read_manifest`."""
    return _read(folder, lambda stream: _summary(JsonReader(stream)))


def _read(folder: Path, parse: Callable[[TextIO], T]) -> T:
    """`parse` the manifest; missing or unreadable, it is BackupError: the backup is damaged."""
    hint = "nothing can be restored from it; choose another (`praxis-upgrade backups list`)"
    try:
        with open(folder / MANIFEST, encoding="utf-8") as stream:
            return parse(stream)
    except FileNotFoundError:
        raise BackupError(f"{folder} is damaged: it has no {MANIFEST}", hint=hint) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise BackupError(f"{folder / MANIFEST} is damaged (unreadable: {e})", hint=hint) from None


def check_entry(stored: Path, entry: Entry) -> str | None:
    """Why the stored copy does not match its entry, or None when it does."""
    if entry.kind == "symlink":
        if not stored.is_symlink():
            return f"missing (stored link {stored} is gone)"
        now = os.readlink(stored)
        return (
            None
            if now == entry.link
            else f"tampered (link points to {now!r}, expected {entry.link!r})"
        )
    if stored.is_symlink() or not stored.is_file():
        return f"missing ({stored} is gone)"
    if stored.stat().st_size != entry.size or fs.sha256_file(stored) != entry.sha256:
        return f"tampered ({stored} no longer matches its sha256 {entry.sha256[:12]}...)"
    return None


def check_contents(folder: Path, manifest: Manifest) -> list[str]:
    """Re-read every stored copy against the manifest; one problem string per bad path."""
    problems = []
    stored = fs.Confined(folder)
    for label, entry in [*manifest.files.items(), *manifest.outside.items()]:
        try:
            why = check_entry(stored(entry.stored, follow_last=False), entry)
        except PathEscapeError:
            why = f"tampered (manifest points outside the backup: {entry.stored!r})"
        if why:
            problems.append(f"{label}: {why}")
    return problems


def verify_backup(backup_dir: Path) -> list[str]:
    """Problems that make a backup unusable (incomplete, tampered or missing files, named); []
    when sound."""
    problems = []
    marker = backup_dir / COMPLETE
    if not marker.is_file():
        problems.append(
            f"incomplete: {backup_dir} has no {COMPLETE} marker "
            "(it was interrupted while being made)"
        )
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
            problems.append(
                f"{MANIFEST}: tampered (it no longer matches the checksum recorded in {COMPLETE})"
            )
    return problems + check_contents(backup_dir, manifest)
