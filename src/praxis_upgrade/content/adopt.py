"""Adoption: build a baseline for an install that has none, from the source's git history."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from praxis_upgrade.content.baseline import Baseline, FileRecord, hash_bytes
from praxis_upgrade.errors import SourceError
from praxis_upgrade.source import layout
from praxis_upgrade.source.repo import HistoryIndex, SourceRepo
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import difflib
else:  # heavy: loaded on first use (only when an adoption compares near versions)
    difflib = lazy_module("difflib")


@dataclass(frozen=True)
class LocalFile:
    sha256: str
    git_blob: str
    size: int
    mtime_ns: int


def scan(target: Path) -> dict[str, LocalFile]:
    """Every regular file (not symlink) in the install's upstream areas, hashed."""
    found: dict[str, LocalFile] = {}
    stack = [target / d for d in layout.MANAGED_TARGET_DIRS]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for item in entries:
            rel = Path(item.path).relative_to(target).as_posix()
            if layout.owner_of(rel) not in layout.OWNERS:
                continue
            if item.is_dir(follow_symlinks=False):
                stack.append(Path(item.path))
            elif item.is_file(follow_symlinks=False):
                try:
                    st = item.stat(follow_symlinks=False)
                    with open(item.path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                sha, blob = hash_bytes(data)
                found[rel] = LocalFile(sha, blob, st.st_size, st.st_mtime_ns)
    return found


def _best_commit(
    index: HistoryIndex, local: dict[str, LocalFile], target: Path, repo: SourceRepo
) -> tuple[int, list[str]]:
    """Index of the commit closest to the local files (fewest differing/missing/extra files),
    and the paths that could not tell the best candidates apart (see `_break_tie`)."""
    known_local = sum(1 for p in local if p in index.versions)
    memo: dict[tuple[int, bytes], tuple[int, int, int]] = {}
    best_key: tuple[int, int, int] | None = None
    best = -1
    scores: list[tuple[int, int, int]] = []
    for pos, commit in enumerate(index.commits):
        equal = differ = absent = 0
        for part in commit.parts:
            counts = memo.get(part)
            if counts is None:
                e = d = a = 0
                for path, blob, _mode in index.files(part):
                    mine = local.get(path)
                    if mine is None:
                        a += 1
                    elif mine.git_blob == blob:
                        e += 1
                    else:
                        d += 1
                counts = memo[part] = (e, d, a)
            equal, differ, absent = equal + counts[0], differ + counts[1], absent + counts[2]
        extra = known_local - equal - differ
        key = (differ + absent + extra, 0 if commit.tags else 1, pos)
        scores.append(key)
        if best_key is None or key < best_key:
            best_key, best = key, pos
    tied = [k[2] for k in sorted(scores) if best_key is not None and k[0] == best_key[0]]
    if len(tied) < 2:
        return best, []
    return _break_tie(index, local, target, repo, tied)


def _break_tie(
    index: HistoryIndex,
    local: dict[str, LocalFile],
    target: Path,
    repo: SourceRepo,
    tied: list[int],
) -> tuple[int, list[str]]:
    """Candidates that explain the install equally well differ only in files you edited: pick
    the one whose versions of those files are closest to yours (your edit of release N is nearer
    N than N+1). Returns the pick and, when two stay equally close, the undecided paths."""
    trees = {pos: {p: b for part in index.commits[pos].parts for p, b, _m in index.files(part)}
             for pos in tied}  # fmt: skip
    paths = sorted(
        p for p in local if p in index.versions and len({trees[pos].get(p) for pos in tied}) > 1
    )
    mine = {p: (target / p).read_bytes().splitlines() for p in paths}
    ratios: dict[tuple[str, str], float] = {}

    def closeness(pos: int) -> float:
        """Sum over the tied files of how alike (by lines) yours and this release's are."""
        total = 0.0
        for p in paths:
            blob = trees[pos].get(p)
            if blob is None:
                continue
            if (p, blob) not in ratios:  # lines, not bytes: linear enough for big files
                theirs = repo.blob(blob).splitlines()
                ratios[p, blob] = difflib.SequenceMatcher(None, mine[p], theirs).ratio()
            total += ratios[p, blob]
        return total

    score = {pos: closeness(pos) for pos in tied}
    ranked = sorted(tied, key=lambda pos: -score[pos])  # stable: tagged and newer first
    if len(ranked) > 1 and score[ranked[0]] == score[ranked[1]]:
        return ranked[0], paths
    return ranked[0], []


def adopt(target: Path, repo: SourceRepo) -> Baseline:
    """A baseline for an install with none: files equal to any upstream version are unmodified.

    The base commit is the one whose installable tree is closest to the install; a file whose
    bytes equal any historical version of its path counts as unmodified at that version.
    """
    started = time.time_ns()
    local = scan(target)
    index = repo.history_index()
    if not index.commits:
        raise SourceError(
            f"the source clone {repo.path} has no commits", hint="clone praxis-os again"
        )
    best, undecided = _best_commit(index, local, target, repo)
    commit = index.commits[best]
    records: dict[str, FileRecord] = {}
    base_files = {p: (b, m) for part in commit.parts for p, b, m in index.files(part)}
    fit = Fit.of(local, base_files, set(index.versions), repo.history_gaps())
    if fit.doubtful:
        raise _refusal(repo, fit, repo.version(commit.sha))
    for path in set(base_files) | {p for p in local if p in index.versions}:
        mine = local.get(path)
        if mine is not None and mine.git_blob in index.versions.get(path, {}):
            mode = base_files[path][1] if path in base_files else _mode(target / path)
            records[path] = FileRecord(mine.sha256, mine.git_blob, mode, mine.size, mine.mtime_ns)
            continue
        if path in base_files:
            blob, mode = base_files[path]
        else:  # a path upstream shipped once (not in the base commit), edited locally
            blob = next(iter(index.versions[path]))
            mode = _mode(target / path)
        sha = hash_bytes(repo.blob(blob))[0]
        if mine is None:
            records[path] = FileRecord(sha, blob, mode)
        else:
            records[path] = FileRecord(sha, blob, mode, mine.size, mine.mtime_ns, mine.sha256)
    version = repo.version(commit.sha)
    return Baseline(
        version=version,
        commit=commit.sha,
        source_path=str(repo.path),
        installed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        adopted_from=f"{version} ({commit.sha[:10]})",
        adoption={**fit.to_json(), "undecided": undecided},
        files=records,
        recorded_ns=started,
    )


@dataclass(frozen=True)
class Fit:
    """How well the chosen base commit explains the install: files whose bytes are exactly that
    version's, out of the managed files the install and that version have between them."""

    matched: int
    managed: int
    gaps: tuple[str, ...]  # why the clone's history may be incomplete (SourceRepo.history_gaps)

    @classmethod
    def of(
        cls,
        local: dict[str, LocalFile],
        base: dict[str, tuple[str, int]],
        known: set[str],
        gaps: list[str],
    ) -> Fit:
        """`known`: every path upstream ever shipped (a local file elsewhere is the user's)."""
        matched = sum(
            1 for p, (blob, _m) in base.items() if p in local and local[p].git_blob == blob
        )
        managed = len(set(base) | (set(local) & known))
        return cls(matched, managed, tuple(gaps))

    @property
    def ratio(self) -> float:
        return self.matched / self.managed if self.managed else 1.0

    @property
    def incomplete_history(self) -> bool:
        return "shallow" in self.gaps

    @property
    def doubtful(self) -> bool:
        """In a shallow clone a file that is not exactly the closest version's may be your edit
        or an older release's text: nothing tells them apart, so only an exact fit is trusted.
        (A single-branch clone still has every release tagged on its branch.)"""
        return self.incomplete_history and self.matched < self.managed

    def to_json(self) -> dict[str, object]:
        return {
            "matched": self.matched,
            "managed": self.managed,
            "complete_history": not self.incomplete_history,
        }


def _refusal(repo: SourceRepo, fit: Fit, version: str) -> SourceError:
    fetch = f"git -C {repo.path} fetch --unshallow --tags"
    offer = " or rerun with `--fetch-history`" if repo.remotes() else ""
    return SourceError(
        f"cannot tell which version is installed: the source {repo.path} is a shallow clone "
        f"(`--depth`), and its closest version ({version}) matches only {fit.matched} of "
        f"{fit.managed} installed files; without the older releases, upstream's older files "
        "cannot be told from your edits. Nothing was written.",
        hint=f"fetch the full history (`{fetch}`){offer}, or use a full clone",
    )


def _mode(path: Path) -> int:
    try:
        return 0o755 if path.stat().st_mode & 0o111 else 0o644
    except OSError:
        return 0o644
