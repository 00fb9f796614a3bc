"""The recorded baseline (what was installed, per file) and the content-addressed blob cache."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.errors import BaselineError, SourceError
from praxis_upgrade.source import repo as repo_mod
from praxis_upgrade.source.repo import MissingObject, git_blob_id
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs
from praxis_upgrade.util.jsonstream import JsonReader

if TYPE_CHECKING:
    from praxis_upgrade.source.repo import SourceRepo

FORMAT = 1
READOPT_HINT = "rebuild it from the source's history with `praxis-upgrade adopt`"
STORE_NAME = "store.git"  # the blob cache's object store, beside the versions stored alone
MAX_PACKS = 8  # one pack per upgrade that added versions; more are merged into one
_PACKS = "objects/pack"
_INDEX = "sha256-index"  # "<sha256> <git blob id>" lines, sorted
_indexes: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}
_PIECE = 1 << 16  # characters of the baseline's JSON written at a time


def baseline_path(target: Path) -> Path:
    return target / ".praxis-upgrade" / "baseline.json"


def blob_dir(target: Path) -> Path:
    return target / ".cache" / "praxis-upgrade" / "blobs"


@dataclasses.dataclass(slots=True)  # a baseline holds one per managed file: tens of thousands
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
        data = dataclasses.asdict(dataclasses.replace(self, files={}))  # the files by hand:
        data["files"] = {p: r.to_json() for p, r in sorted(self.files.items())}  # thousands
        data["format"] = FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names and k != "files"}
        files = {p: FileRecord.from_json(r) for p, r in data.get("files", {}).items()}
        return cls(files=files, **kwargs)

    def json_pieces(self) -> Iterator[str]:
        """``json.dumps(self.to_json(), indent=2, sort_keys=True) + "\\n"`` in pieces, one
        file's record at a time (the whole text of a big baseline is never held)."""
        head = dataclasses.asdict(dataclasses.replace(self, files={}))
        head["format"] = FORMAT
        keys = sorted(head)
        yield "{"
        for i, key in enumerate(keys):
            yield f"{',' if i else ''}\n  {json.dumps(key)}: "
            if key == "files" and self.files:
                yield from _files_pieces(self.files)
            else:
                yield json.dumps(head[key], indent=2, sort_keys=True).replace("\n", "\n  ")
        yield "\n}\n"


def _scalar(value: Any) -> str:
    if type(value) is str:
        return json.encoder.encode_basestring_ascii(value)  # what json.dumps writes for it
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value)


def _files_pieces(files: dict[str, FileRecord]) -> Iterator[str]:
    """The baseline's ``files`` object as `json.dumps(..., indent=2)` writes it two levels
    down, in pieces of about `_PIECE` characters."""
    batch: list[str] = ["{"]
    held = 0
    for i, (path, record) in enumerate(sorted(files.items())):
        items = ",\n      ".join(map(_scalar, record.to_json()))
        text = f"{',' if i else ''}\n    {_scalar(path)}: [\n      {items}\n    ]"
        batch.append(text)
        held += len(text)
        if held >= _PIECE:
            yield "".join(batch)
            batch, held = [], 0
    batch.append("\n  }")
    yield "".join(batch)


def load(target: Path, *, files: Callable[[str], bool] | None = None) -> Baseline | None:
    """The recorded baseline, None if there is none; BaselineError if it is unreadable.

    With `files`, only the records of the paths it accepts are kept: the file is then read a
    record at a time, so the others (and the whole text) are never held (``lambda _: False``
    reads version, commit and environment of a big baseline for the cost of a small one). Such
    a record is partial: `save` refuses it, as it would drop the records it left out (copy the
    records into a new dict to build a whole one from it).
    """
    path = Store(target).baseline
    if not path.exists():
        return None
    try:
        if files is None:
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            with open(path, encoding="utf-8") as stream:
                data = _read_some(JsonReader(stream), files)
        if not isinstance(data, dict) or data.get("format", FORMAT) > FORMAT:
            raise ValueError("not a baseline of a format this version understands")
        record = Baseline.from_json(data)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise BaselineError(f"the baseline {path} is corrupt: {e}", hint=READOPT_HINT) from e
    if files is not None:
        record.files = _Partial(record.files)
    return record


class _Partial(dict[str, FileRecord]):
    """The records a filtered `load` kept: not all of the install's (`save` refuses them)."""


def _read_some(reader: JsonReader, keep: Callable[[str], bool]) -> dict[str, Any]:
    """A baseline's JSON with only the ``files`` records of the paths `keep` accepts."""
    data: dict[str, Any] = {}
    for key in reader.members():
        if key != "files":
            data[key] = reader.value()
            continue
        kept: dict[str, Any] = {}
        for rel in reader.members():
            record = reader.value()
            if keep(rel):
                kept[rel] = record
        data[key] = kept
    reader.end()
    return data


def save(target: Path, baseline: Baseline, *, repo: SourceRepo | None = None) -> None:
    """Write the baseline atomically; with `repo`, first cache every base blob not cached yet.

    Raises:
        ValueError: `baseline` was loaded with a filter and holds only some records (a bug).
    """
    if isinstance(baseline.files, _Partial):
        raise ValueError("refusing to save a baseline read with a filter: it lacks records")
    if repo is not None:
        cache_blobs(target, baseline, repo)
    # the same bytes as fs.atomic_write_json(path, baseline.to_json()), written as they are made
    pieces = (piece.encode("utf-8") for piece in baseline.json_pieces())
    fs.atomic_write_chunks(Store(target).baseline, pieces)


def cache_blobs(target: Path, baseline: Baseline, repo: SourceRepo) -> int:
    """Keep each file's base version in the blob cache, so merges still work when a later clone
    lacks it (shallow or rewritten); returns how many versions were added.

    `git pack-objects` copies them from the clone into the cache's own object store, one
    delta-compressed pack per run, without Python reading them. A version git cannot pack (git
    failing, an id it cannot name) is stored alone, zlib-compressed, as before.
    """
    lacking: dict[str, tuple[str, str]] = {}  # git blob -> (sha256, path) of what is not cached
    loose = str(Store(target).blobs)  # the index is not trusted here: the store is asked below
    for path, record in baseline.files.items():
        sha = record.sha256
        # os.path, not pathlib: a Path per file (pathlib interns each part) costs at this count
        if record.git_blob not in lacking and not os.path.exists(os.path.join(loose, sha[:2], sha)):
            lacking[record.git_blob] = (sha, path)
    if not lacking:
        return 0
    try:
        added, left = _pack_blobs(target, lacking, repo)
    except (SourceError, OSError):
        added, left = 0, lacking
    for blob, (sha256, _path) in left.items():
        added += _cache_loose(target, blob, sha256, repo)
    return added


def _pack_blobs(
    target: Path, lacking: dict[str, tuple[str, str]], repo: SourceRepo
) -> tuple[int, dict[str, tuple[str, str]]]:
    """Pack into the object store what it lacks of `lacking` and index it; returns (versions
    packed, what only the loose cache can take). What the store holds counts as cached whatever
    the index says, so a run killed between its pack and its index loses nothing, and a lost or
    damaged index mends itself here."""
    store = _store(target)
    repo_mod.init_object_store(store)  # repaired in place, never deleted: it holds the bases
    try:
        held = repo_mod.present_objects(store, lacking)
    except SourceError:  # cannot tell this time: pack them again (a copy twice is harmless)
        held = set()
    wanted = [b for b in lacking if b not in held]
    left = {b: lacking[b] for b in wanted if not repo_mod.is_object_id(b)}
    found = repo.present_blobs(b for b in wanted if b not in left)  # a shallow clone lacks some
    if found:
        repo.pack_blobs(((b, lacking[b][1]) for b in wanted if b in found), store / _PACKS / "pack")
    index = _index(target)
    new = {lacking[b][0]: b for b in itertools.chain(held, found) if index.get(lacking[b][0]) != b}
    if new:
        # written as it is made: the index is not copied, nor its text held whole; no fsync:
        # an index lost in a crash is rebuilt from the store by the next run
        shas = sorted(itertools.chain(index, (s for s in new if s not in index)))
        fs.atomic_write_chunks(store / _INDEX, _index_text(shas, index, new), sync=False)
    if len(list((store / _PACKS).glob("pack-*.idx"))) > MAX_PACKS:
        with contextlib.suppress(SourceError, OSError):  # many packs only cost speed
            repo_mod.repack_objects(store)
    return len(found), left


def _index_text(shas: list[str], index: dict[str, str], new: dict[str, str]) -> Iterator[bytes]:
    """The index's lines for `shas` (sorted), `_PIECE` bytes or so at a time."""
    lines = bytearray()  # one buffer, not a string per line joined, then encoded
    for sha256 in shas:
        lines += f"{sha256} {new.get(sha256) or index[sha256]}\n".encode("ascii")
        if len(lines) >= _PIECE:
            yield bytes(lines)
            lines.clear()
    yield bytes(lines)


def _cache_loose(target: Path, blob: str, sha256: str, repo: SourceRepo) -> int:
    """Read one version from the clone and store it alone (1), unless the clone lacks it (0)."""
    try:
        data = repo.blob(blob)
    except MissingObject:
        return 0
    if fs.sha256_bytes(data) != sha256:
        return 0
    store_blob(target, data)
    return 1


def _store(target: Path) -> Path:
    return Store(target).blobs / STORE_NAME


def _index(target: Path) -> dict[str, str]:
    """sha256 -> git blob id of every version in the object store (read once per change)."""
    path = _store(target) / _INDEX
    try:
        st = path.stat()
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        known = _indexes.get(path)
        if known is not None and known[0] == key:
            return known[1]
        text = path.read_bytes().decode("ascii")
    except (OSError, UnicodeDecodeError):
        return {}
    index = {}
    for line in text.splitlines():
        sha256, _, blob = line.partition(" ")
        if len(sha256) == 64 and repo_mod.is_object_id(blob):
            index[sha256] = blob
    _indexes[path] = (key, index)
    return index


def _blob_path(target: Path, sha256: str) -> Path:
    return Store(target).blobs / sha256[:2] / sha256


def has_blob(target: Path, sha256: str) -> bool:
    """Whether the cache holds this version (its bytes are checked when loaded)."""
    return not uncached(target, (sha256,))


def uncached(target: Path, sha256s: Iterable[str]) -> set[str]:
    """The versions among `sha256s` the cache does not hold: neither in the object store's
    index nor stored alone."""
    index, loose = _index(target), str(Store(target).blobs)
    return {
        s
        for s in set(sha256s)
        if s not in index and not os.path.exists(os.path.join(loose, s[:2], s))
    }


def store_blob(target: Path, data: bytes) -> str:
    """Keep `data` in the cache under its sha256 (alone, compressed); returns the sha256. For
    bytes the source does not have, such as your copy of a merged file."""
    sha = fs.sha256_bytes(data)
    path = _blob_path(target, sha)
    if not path.exists():
        # no fsync: a cache entry lost in a crash is only a missed fallback, and load_blob
        # checks every entry's sha256 before using it
        fs.atomic_write_bytes(path, zlib.compress(data, 6), sync=False)
    return sha


def load_blob(target: Path, sha256: str) -> bytes | None:
    """The cached bytes with this sha256, or None (missing or damaged): stored alone, else
    from the object store."""
    try:
        data = zlib.decompress(_blob_path(target, sha256).read_bytes())
        if fs.sha256_bytes(data) == sha256:
            return data
    except (OSError, zlib.error):
        pass
    blob = _index(target).get(sha256)
    packed = repo_mod.read_object(_store(target), blob) if blob else None
    return packed if packed is not None and fs.sha256_bytes(packed) == sha256 else None


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
