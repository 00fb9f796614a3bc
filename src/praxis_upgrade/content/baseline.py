"""The recorded baseline (what was installed, per file) and the content-addressed blob cache."""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.errors import BaselineError
from praxis_upgrade.source.repo import MissingObject, git_blob_id
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs

if TYPE_CHECKING:
    from praxis_upgrade.source.repo import SourceRepo

FORMAT = 1
READOPT_HINT = "rebuild it from the source's history with `praxis-upgrade adopt`"


def baseline_path(target: Path) -> Path:
    return target / ".praxis-upgrade" / "baseline.json"


def blob_dir(target: Path) -> Path:
    return target / ".cache" / "praxis-upgrade" / "blobs"


@dataclasses.dataclass
class FileRecord:
    """One managed file: its base version (sha256, git blob, mode) and the local stat seen.

    `size`/`mtime_ns` describe the local file when the record was made, and `local_sha256` its
    hash then if it differed from the base (None: the local file equalled the base). A local file
    with the same size and mtime is not hashed again. Absent local files have size -1.
    """

    sha256: str
    git_blob: str
    mode: int
    size: int = -1
    mtime_ns: int = -1
    local_sha256: str | None = None

    def to_json(self) -> list[Any]:
        return [self.sha256, self.git_blob, self.mode, self.size, self.mtime_ns, self.local_sha256]

    @classmethod
    def from_json(cls, data: list[Any]) -> FileRecord:
        return cls(*data)

    @property
    def local(self) -> str | None:
        """The local sha256 seen when recorded (None if the file was absent)."""
        if self.size < 0:
            return None
        return self.local_sha256 or self.sha256


@dataclasses.dataclass
class Baseline:
    """What is installed: source version and commit, and a record per managed file."""

    version: str
    commit: str
    source_path: str
    installed_at: str
    adopted_from: str | None = None
    adoption: dict[str, Any] | None = None  # Fit.to_json() of an adopted baseline
    files: dict[str, FileRecord] = dataclasses.field(default_factory=dict)
    recorded_ns: int = 0  # when the local stats were taken (files newer than this are re-hashed)
    environment: Any = None  # fingerprint of the installed venv (owned by the environment step)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["files"] = {p: r.to_json() for p, r in sorted(self.files.items())}
        data["format"] = FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names and k != "files"}
        files = {p: FileRecord.from_json(r) for p, r in data.get("files", {}).items()}
        return cls(files=files, **kwargs)


def load(target: Path) -> Baseline | None:
    """The recorded baseline, None if there is none; BaselineError if it is unreadable."""
    path = Store(target).baseline
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format", FORMAT) > FORMAT:
            raise ValueError("not a baseline of a format this version understands")
        return Baseline.from_json(data)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise BaselineError(f"the baseline {path} is corrupt: {e}", hint=READOPT_HINT) from e


def save(target: Path, baseline: Baseline, *, repo: SourceRepo | None = None) -> None:
    """Write the baseline atomically; with `repo`, first cache every base blob not cached yet."""
    if repo is not None:
        cache_blobs(target, baseline, repo)
    fs.atomic_write_json(Store(target).baseline, baseline.to_json())


def cache_blobs(target: Path, baseline: Baseline, repo: SourceRepo) -> int:
    """Keep each file's base bytes in the blob cache (merges still work if the clone loses them)."""

    stored = 0
    for record in baseline.files.values():
        if has_blob(target, record.sha256):
            continue
        try:
            data = repo.blob(record.git_blob)
        except MissingObject:
            continue
        if fs.sha256_bytes(data) == record.sha256:
            store_blob(target, data)
            stored += 1
    return stored


def _blob_path(target: Path, sha256: str) -> Path:
    return Store(target).blobs / sha256[:2] / sha256


def has_blob(target: Path, sha256: str) -> bool:
    return _blob_path(target, sha256).exists()


def store_blob(target: Path, data: bytes) -> str:
    """Keep `data` in the cache under its sha256 (compressed); returns the sha256."""
    sha = fs.sha256_bytes(data)
    path = _blob_path(target, sha)
    if not path.exists():
        # no fsync: a cache entry lost in a crash is only a missed fallback, and load_blob
        # checks every entry's sha256 before using it
        fs.atomic_write_bytes(path, zlib.compress(data, 6), sync=False)
    return sha


def load_blob(target: Path, sha256: str) -> bytes | None:
    """The cached bytes with this sha256, or None (missing or damaged)."""
    try:
        data = zlib.decompress(_blob_path(target, sha256).read_bytes())
    except (OSError, zlib.error):
        return None
    return data if fs.sha256_bytes(data) == sha256 else None


def hash_bytes(data: bytes) -> tuple[str, str]:
    """(sha256, git blob id) of some bytes."""

    return fs.sha256_bytes(data), git_blob_id(data)


def modified(baseline: Baseline) -> list[str]:
    """Paths whose local file differed from the base when the baseline was recorded."""
    return sorted(
        p for p, r in baseline.files.items() if r.local is not None and r.local != r.sha256
    )


def missing(baseline: Baseline) -> list[str]:
    """Paths whose local file was absent when the baseline was recorded."""
    return sorted(p for p, r in baseline.files.items() if r.local is None)
