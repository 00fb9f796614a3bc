"""The three-way plan: base (baseline) x local (disk) x upstream (source rev), per managed path."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from praxis_upgrade.content.baseline import Baseline, FileRecord, load_blob
from praxis_upgrade.content.merge import is_binary, merge3
from praxis_upgrade.content.vocab import Action, Klass
from praxis_upgrade.errors import PathEscapeError
from praxis_upgrade.source import layout
from praxis_upgrade.source.repo import Entry, MissingObject, SourceRepo
from praxis_upgrade.util import fs

RACY_NS = 100_000_000
UNDECIDED = (
    "adoption could not tell which release your edit of this file started from; "
    "upstream's version is beside it so you can compare"
)  # files modified this close to the recording time are hashed again


@dataclasses.dataclass(slots=True)  # a plan holds one per managed file: tens of thousands
class PlanEntry:
    """One managed path: its three versions (sha256s; None = absent), class and action.

    `local_size`/`local_mtime_ns` are the stat under which `local_sha` was seen.
    """

    path: str
    owner: str
    klass: Klass
    action: Action
    base_sha: str | None = None
    local_sha: str | None = None
    upstream_sha: str | None = None
    upstream_git_blob: str | None = None
    mode: int | None = None
    size: int = 0
    base_git_blob: str | None = None
    base_mode: int | None = None
    local_size: int = -1
    local_mtime_ns: int = -1
    reason: str | None = None  # why a path is a conflict the three-way table alone would not make

    @property
    def is_conflict(self) -> bool:
        return self.klass.is_conflict

    def to_json(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: every field is a scalar, and a plan has thousands
        return {name: v for name in _ENTRY_FIELDS if (v := getattr(self, name)) is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanEntry:
        return cls(**{**data, "klass": Klass(data["klass"]), "action": Action(data["action"])})


@dataclasses.dataclass
class Plan:
    """Every managed path with what the upgrade will do to it, computed once and re-checked."""

    from_version: str | None
    to_version: str
    base_commit: str | None
    upstream_commit: str
    entries: list[PlanEntry] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    hashed: int = 0  # local files read and hashed while planning (no-op runs hash none)
    owners: list[str] = dataclasses.field(default_factory=lambda: list(layout.OWNERS))

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.klass for e in self.entries).items()))

    def changes(self) -> list[PlanEntry]:
        """Entries that write or delete a file."""
        return [e for e in self.entries if e.action.writes]

    def conflicts(self) -> list[PlanEntry]:
        return [e for e in self.entries if e.is_conflict]

    def touched_paths(self) -> list[str]:
        """Target-relative paths apply may write or delete (side files included), for the backup."""
        out: list[str] = []
        for e in self.changes():
            out.append(e.path)
            if e.action == Action.MERGE and e.upstream_sha is not None:
                out.append(layout.side_file(e.path))
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _PLAN_FIELDS}
        data["entries"] = [e.to_json() for e in self.entries]
        data["problems"], data["owners"] = list(self.problems), list(self.owners)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        kwargs = {k: v for k, v in data.items() if k != "entries"}
        return cls(entries=[PlanEntry.from_json(e) for e in data.get("entries", [])], **kwargs)


_ENTRY_FIELDS = tuple(f.name for f in dataclasses.fields(PlanEntry))
_PLAN_FIELDS = tuple(f.name for f in dataclasses.fields(Plan))


def _classify(
    base: FileRecord | None, local: str | None, up: Entry | None, up_sha: str | None
) -> Klass:
    if base is None:
        if local is None:
            return Klass.ADDED
        return Klass.BOTH_SAME if local == up_sha else Klass.ADD_ADD
    up_same = up is not None and up.git_blob == base.git_blob and up.mode == base.mode
    if local is None:
        if up is None:
            return Klass.BOTH_DELETED
        return Klass.LOCALLY_DELETED if up_same else Klass.MODIFY_DELETE
    if up is None:
        return Klass.UPSTREAM_DELETED if local == base.sha256 else Klass.KEPT_DELETED
    if local == base.sha256:
        return Klass.UNCHANGED if up_same else Klass.UPSTREAM_CHANGED
    if up_same:
        return Klass.LOCAL_CHANGED
    return Klass.BOTH_SAME if local == up_sha else Klass.CONFLICT


class _Planner:
    def __init__(self, target: Path, repo: SourceRepo, baseline: Baseline | None) -> None:
        self.target, self.repo, self.baseline = target, repo, baseline
        self.hashed = 0
        self.problems: list[str] = []
        self._up_sha: dict[str, str] = {}
        self.inside = fs.Confined(target)
        adoption = (baseline.adoption if baseline else None) or {}
        self.undecided = set(adoption.get("undecided") or [])  # adoption could not date these

    def known_sha256s(self, blobs: Iterable[str]) -> None:
        """Hash these upstream blobs now, together (`upstream_sha` then reads nothing)."""
        self._up_sha.update(self.repo.sha256s(blobs))

    def upstream_sha(self, entry: Entry | None) -> str | None:
        if entry is None:
            return None
        if entry.git_blob not in self._up_sha:
            self._up_sha[entry.git_blob] = fs.sha256_bytes(self.repo.blob(entry.git_blob))
        return self._up_sha[entry.git_blob]

    def local(self, path: Path, record: FileRecord | None) -> tuple[str | None, int, int]:
        """(sha256 or None if absent, size, mtime_ns); OSError if it exists but cannot be read."""
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return None, -1, -1
        if stat.S_ISLNK(st.st_mode):  # the user's link over a managed file: a local change,
            self.hashed += 1  # never read
            return fs.sha256_entry(path), st.st_size, st.st_mtime_ns
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        recorded_ns = self.baseline.recorded_ns if self.baseline else 0
        if (
            record is not None
            and record.size == st.st_size
            and record.mtime_ns == st.st_mtime_ns
            and st.st_mtime_ns + RACY_NS < recorded_ns
            and record.local is not None
        ):
            return record.local, st.st_size, st.st_mtime_ns
        self.hashed += 1
        return fs.sha256_file(path), st.st_size, st.st_mtime_ns

    def entry(self, rel: str, base: FileRecord | None, up: Entry | None) -> PlanEntry | None:
        owner = layout.owner_of(rel)
        try:
            path = self.inside(rel, follow_last=False)  # a link here is a local change
        except PathEscapeError as e:
            self.problems.append(f"{rel}: {e.message}")
            return None
        try:
            local, size, mtime = self.local(path, base)
        except OSError as e:
            if base is not None and up is not None and up.git_blob == base.git_blob:
                return PlanEntry(
                    rel,
                    owner,
                    Klass.UNREADABLE,
                    Action.NONE,
                    base.sha256,
                    None,
                    base.sha256,
                    up.git_blob,
                    up.mode,
                    up.size,
                    base.git_blob,
                    base.mode,
                )
            self.problems.append(f"{rel}: cannot read it ({e.strerror or e})")
            return None
        if up is not None and base is not None and up.git_blob == base.git_blob:
            up_sha: str | None = base.sha256
        else:
            up_sha = self.upstream_sha(up)
        klass = _classify(base, local, up, up_sha)
        reason = None
        if klass == Klass.LOCAL_CHANGED and rel in self.undecided:
            klass, reason = Klass.CONFLICT, UNDECIDED
        elif (
            klass == Klass.CONFLICT
            and base is not None
            and up is not None
            and self.merges_cleanly(path, base, up)
        ):
            klass = Klass.BOTH_CHANGED
        action = klass.action
        if action.writes:
            self.check_writable(rel, path, local is not None)
        return PlanEntry(
            rel,
            owner,
            klass,
            action,
            base.sha256 if base else None,
            local,
            up_sha,
            up.git_blob if up else None,
            up.mode if up else None,
            up.size if up else 0,
            base.git_blob if base else None,
            base.mode if base else None,
            size,
            mtime,
            reason,
        )

    def merges_cleanly(self, path: Path, base: FileRecord, up: Entry) -> bool:
        """Whether both sides' edits merge without overlap (so it is no conflict at all)."""
        if path.is_symlink():  # a link is never read through
            return False
        try:
            local = path.read_bytes()
            upstream = self.repo.blob(up.git_blob)
        except (OSError, MissingObject):
            return False
        old = base_bytes(self.target, self.repo, base.git_blob, base.sha256)
        if old is None or any(is_binary(x) for x in (old, local, upstream)):
            return False
        return not merge3(old, local, upstream).conflicted

    def check_writable(self, rel: str, path: Path, exists: bool) -> None:
        if (
            exists
            and not path.is_symlink()
            and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222)
        ):
            self.problems.append(f"{rel}: the file is read-only")
        parent = path.parent
        while not parent.exists() and parent != self.target:
            parent = parent.parent
        if not parent.is_dir():
            self.problems.append(f"{rel}: {parent} is not a directory")
        elif not os.access(parent, os.W_OK | os.X_OK) or not parent.stat().st_mode & 0o200:
            self.problems.append(f"{rel}: the folder {parent} is not writable")


def make_plan(
    target: Path,
    repo: SourceRepo,
    rev: str,
    baseline: Baseline | None,
    *,
    owners: tuple[str, ...] = ("content", "server"),
) -> Plan:
    """Compare base, local and upstream for every path the baseline or `rev` manages."""
    upstream_commit = repo.resolve(rev)
    upstream = {p: e for p, e in repo.tree(upstream_commit).items() if layout.owner_of(p) in owners}
    base = {
        p: r
        for p, r in (baseline.files if baseline else {}).items()
        if layout.owner_of(p) in owners
    }
    planner = _Planner(target, repo, baseline)
    # upstream's sha256 of every blob the base does not already name, read in one pass
    planner.known_sha256s(
        e.git_blob for p, e in upstream.items() if p not in base or base[p].git_blob != e.git_blob
    )
    entries = []
    for rel in sorted(set(upstream) | set(base)):
        made = planner.entry(rel, base.get(rel), upstream.get(rel))
        if made is not None:
            entries.append(made)
    return Plan(
        from_version=baseline.version if baseline else None,
        to_version=repo.version(upstream_commit),
        base_commit=baseline.commit if baseline else None,
        upstream_commit=upstream_commit,
        entries=entries,
        problems=planner.problems,
        hashed=planner.hashed,
        owners=list(owners),
    )


def base_bytes(target: Path, repo: SourceRepo, git_blob: str | None, sha256: str) -> bytes | None:
    """The base version of a file: from the clone, else from the install's blob cache."""
    if git_blob:
        try:
            data = repo.blob(git_blob)
            if fs.sha256_bytes(data) == sha256:
                return data
        except MissingObject:
            pass
    return load_blob(target, sha256)
