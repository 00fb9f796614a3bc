"""Applying a plan: per-file atomic writes, re-checked hashes, conflict policies, new baseline."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.diffs import conflict_diffs
from praxis_upgrade.content.merge import has_markers, is_binary_file, merge_files
from praxis_upgrade.content.plan import Plan, PlanEntry
from praxis_upgrade.content.vocab import Action, Choice, Klass, Policy
from praxis_upgrade.errors import ConflictsError
from praxis_upgrade.source import layout
from praxis_upgrade.source.gitproc import git_env
from praxis_upgrade.source.repo import MissingObject, SourceRepo
from praxis_upgrade.store import Store
from praxis_upgrade.util import durable, fs
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import difflib
else:  # heavy: loaded on first use (for a conflict's diff only)
    difflib = lazy_module("difflib")


#: results after which the file is not what the plan meant; its old base is kept
NOT_APPLIED = ("changed-since-plan", "skipped", "failed")
DIFF_LINES = 400  # of the diff shown at a prompt
DIFF_MAX = 2 << 20  # bytes: a bigger file gets no line diff at the prompt
STREAM_OVER = 4 << 20  # bytes: a bigger blob comes from git in chunks, never whole
_EMPTY_SHA = fs.sha256_bytes(b"")
_BLOB_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
Decide = Callable[[PlanEntry, dict[str, Any]], str]


@dataclasses.dataclass
class Decision:
    """What happened to one path: its class, planned action, decision taken, and result."""

    path: str
    klass: Klass
    action: Action
    decision: str  # a Choice for a conflict, else the Action taken (keep, stay-deleted)
    result: str
    sha256: str | None = None  # of the file written, if any
    line: int | None = None  # first conflict marker's line, when markers were written


@dataclasses.dataclass
class ApplyResult:
    """Every decision, and exactly what was written (for the report and the rollback)."""

    owner: str | None = None
    decisions: list[Decision] = dataclasses.field(default_factory=list)
    written: dict[str, str] = dataclasses.field(default_factory=dict)  # path -> new sha256
    added: list[str] = dataclasses.field(default_factory=list)  # of `written`: did not exist before
    deleted: list[str] = dataclasses.field(default_factory=list)
    changed_since_plan: list[str] = dataclasses.field(default_factory=list)
    unresolved: list[str] = dataclasses.field(default_factory=list)  # conflicts left for the user
    gitignore_changed: bool = False  # step content: the project's .gitignore block was written
    gitignore_problem: str | None = None  # step content: why the block was left for the user
    ide_configs: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # step server.code

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApplyResult:
        kwargs = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        kwargs["decisions"] = [
            Decision(**{**d, "klass": Klass(d["klass"]), "action": Action(d["action"])})
            for d in data.get("decisions", [])
        ]
        return cls(**kwargs)

    def decision_for(self, path: str) -> Decision | None:
        return next((d for d in self.decisions if d.path == path), None)


def _mode_for(path: Path, upstream: int | None, base: int | None) -> int | None:
    """The mode to write, merged three-way like git: the executable bit follows upstream only
    where upstream changed it (base -> upstream); otherwise the file keeps its own mode, so a
    `chmod +x` or `-x` of yours survives an upstream content change."""
    try:
        current = path.stat().st_mode & 0o7777 if not path.is_symlink() else None
    except OSError:
        current = None
    if current is None:
        return upstream
    if upstream is None or bool(current & 0o111) == bool(upstream & 0o111):
        return current
    if base is not None and bool(base & 0o111) == bool(upstream & 0o111):
        return current  # upstream left the bit alone: yours stands
    return upstream


def _mode_of(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def _clipped(diff: str) -> str:
    """A diff shown at a prompt: its first DIFF_LINES lines, and how many more there are."""
    lines = diff.splitlines(keepends=True)
    if len(lines) <= DIFF_LINES:
        return diff
    return "".join(lines[:DIFF_LINES]) + f"... ({len(lines) - DIFF_LINES} more lines)\n"


def _first_marker(path: Path) -> int:
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if line.startswith(b"<<<<<<< "):
                return number
    return 1


def _current(path: Path) -> str | None:
    """What the plan saw at `path` (a file's bytes or a link's target), None if nothing."""
    try:
        return fs.sha256_entry(path)
    except OSError:
        return None


def _git_blob_chunks(repo: SourceRepo, blob: str) -> Iterator[bytes]:
    """A blob's bytes streamed by `git cat-file`, one chunk at a time (`SourceRepo.blob` holds a
    blob whole); the variables a git hook sets for another repository are left out."""
    if not _BLOB_ID.match(blob):
        raise MissingObject(f"{blob!r} is not a git object id")
    env = git_env()  # never the repository a git hook points at
    with subprocess.Popen(
        ["git", "cat-file", "blob", blob],
        cwd=repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(fs.CHUNK):
            yield chunk
        if proc.wait() != 0:
            raise MissingObject(
                f"object {blob[:10]} is not in the source clone {repo.path}",
                hint="fetch the full history there (`git fetch --unshallow --tags`)",
            )


class _ChangedMeanwhile(Exception):
    """The installed file changed between its re-check and the moment it was read."""


class _Sides:
    """One conflict's versions as files in a private scratch folder (under the install's cache):
    git merges them on disk, and a big file is never held whole in memory. Each version is
    fetched when first needed, so keeping yours reads nothing."""

    def __init__(self, applier: _Applier, e: PlanEntry, installed: Path | None) -> None:
        self.applier, self.e, self.installed = applier, e, installed
        self.local_sha: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._local: Path | None = None
        self._upstream: Path | None = None
        self._base: Path | None | bool = False  # False: not fetched yet
        self._merged: tuple[Path, str, bool] | None | bool = False

    @property
    def folder(self) -> Path:
        if self._tmp is None:
            scratch = Store(self.applier.target).work
            scratch.mkdir(parents=True, exist_ok=True)
            self._tmp = tempfile.TemporaryDirectory(prefix="merge-", dir=scratch)
        return Path(self._tmp.name)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def use_local(self, data: bytes) -> None:
        """Merge this as the local version instead of the installed file."""
        self._local, self._merged = self.folder / "local", False
        self.local_sha = fs.write_scratch(self._local, (data,))

    def local(self) -> Path:
        """Your version: a copy of the installed file as it was re-checked (nothing if absent).

        Raises:
            _ChangedMeanwhile: it is no longer what was re-checked.
        """
        if self._local is None:
            path = self.folder / "local"
            chunks = fs.file_chunks(self.installed) if self.installed is not None else ()
            self.local_sha = fs.write_scratch(path, chunks)
            if self.installed is not None and self.local_sha != self.e.local_sha:
                raise _ChangedMeanwhile(self.e.path)
            self._local = path
        return self._local

    def upstream(self) -> Path:
        if self._upstream is None:
            path = self.folder / "upstream"
            sha = fs.write_scratch(path, self.applier.upstream_chunks(self.e))
            self.applier.check_upstream(self.e)(sha)
            self._upstream = path
        return self._upstream

    def base(self) -> Path | None:
        """The base version (empty for an add/add), None when neither the clone nor the blob
        cache has it."""
        if self._base is False:
            self._base = self._fetch_base()
        assert self._base is not True
        return self._base

    def _fetch_base(self) -> Path | None:
        e, path = self.e, self.folder / "base"
        if e.base_sha is None:
            fs.write_scratch(path, ())
            return path
        if e.base_git_blob:
            big = max(e.size, e.local_size) > STREAM_OVER
            try:
                if fs.write_scratch(path, self.applier.blob_chunks(e.base_git_blob, big)) == (
                    e.base_sha
                ):
                    return path
            except MissingObject:  # not in this clone: the install's blob cache may have it
                pass
        data = bl.load_blob(self.applier.target, e.base_sha)
        if data is None:
            return None
        fs.write_scratch(path, (data,))
        return path

    def merge(self) -> tuple[Path, str, bool] | None:
        """The merged version (a file), its sha256 and whether it holds conflict markers; None
        when the versions cannot be merged (one is binary, or the base is gone)."""
        if self._merged is False:
            self._merged = self._merge()
        assert self._merged is not True
        return self._merged

    def _merge(self) -> tuple[Path, str, bool] | None:
        base, local, upstream = self.base(), self.local(), self.upstream()
        if base is None or any(is_binary_file(p) for p in (base, local, upstream)):
            return None
        base_sha, up_sha = self.e.base_sha or _EMPTY_SHA, self.e.upstream_sha
        assert self.local_sha is not None and up_sha is not None
        if self.local_sha == up_sha:  # the shortcuts merge3 takes
            return local, self.local_sha, False
        if base_sha == self.local_sha:
            return upstream, up_sha, False
        if base_sha == up_sha:
            return local, self.local_sha, False
        merged = self.folder / "merged"
        with open(merged, "wb") as out:
            conflicted = merge_files(base, local, upstream, out)
        return merged, fs.sha256_file(merged), conflicted


class _Applier:
    def __init__(
        self,
        target: Path,
        repo: SourceRepo,
        policy: Policy,
        decide: Decide | None,
        batch: durable.Batch,
    ) -> None:
        self.target, self.repo, self.policy, self.decide = target, repo, policy, decide
        self.batch = batch  # staged: every file takes its place, durable, when the batch ends
        self.result = ApplyResult()

    # -- content ---------------------------------------------------------------------------
    def blob_chunks(self, blob: str, big: bool) -> Iterable[bytes]:
        """A blob's bytes: streamed from git when `big`, else read at once."""
        return _git_blob_chunks(self.repo, blob) if big else (self.repo.blob(blob),)

    def upstream_chunks(self, e: PlanEntry) -> Iterable[bytes]:
        assert e.upstream_git_blob is not None
        return self.blob_chunks(e.upstream_git_blob, e.size > STREAM_OVER)

    @staticmethod
    def check_upstream(e: PlanEntry) -> Callable[[str], None]:
        def check(sha: str) -> None:
            if sha != e.upstream_sha:
                raise MissingObject(f"the source's copy of {e.path} does not match the plan")

        return check

    # -- bookkeeping -----------------------------------------------------------------------
    def record(self, e: PlanEntry, decision: str, result: str, sha: str | None = None) -> None:
        self.result.decisions.append(Decision(e.path, e.klass, e.action, decision, result, sha))

    def wrote(self, rel: str, sha: str, *, new: bool) -> None:
        self.result.written[rel] = sha
        if new and rel not in self.result.added:
            self.result.added.append(rel)

    def write(
        self,
        e: PlanEntry,
        chunks: Iterable[bytes],
        mode: int | None,
        *,
        rel: str | None = None,
        check: Callable[[str], None] | None = None,
    ) -> str:
        rel = rel or e.path
        path = fs.inside(self.target, rel, follow_last=False)
        new = (e.local_sha is None) if rel == e.path else not path.exists()
        sha = fs.atomic_write_chunks(path, chunks, mode=mode, check=check, batch=self.batch)
        self.wrote(rel, sha, new=new)
        return sha

    def write_upstream(self, e: PlanEntry, mode: int | None, *, rel: str | None = None) -> str:
        """Write upstream's version (streamed from git when big), checked against the plan."""
        return self.write(e, self.upstream_chunks(e), mode, rel=rel, check=self.check_upstream(e))

    # -- actions ---------------------------------------------------------------------------
    def apply(self, e: PlanEntry) -> None:
        path = fs.inside(self.target, e.path, follow_last=False)
        current = _current(path)
        if e.action == "delete":
            self.delete(e, path, current)
        elif e.action in ("add", "update"):
            if (
                current is not None
                and current == e.upstream_sha
                and _mode_for(path, e.mode, e.base_mode) == _mode_of(path)
            ):
                self.wrote(e.path, current, new=e.local_sha is None)
                self.record(e, Choice.TAKE_UPSTREAM, "already-applied", current)
            elif current not in (e.local_sha, e.upstream_sha):
                self.changed(e)
            else:
                sha = self.write_upstream(e, _mode_for(path, e.mode, e.base_mode))
                self.record(e, Choice.TAKE_UPSTREAM, "written", sha)
        elif e.action in (Action.MERGE, Action.AUTO_MERGE):
            self.conflict(e, path, current)

    def changed(self, e: PlanEntry) -> None:
        self.result.changed_since_plan.append(e.path)
        self.record(e, Action.NONE, "changed-since-plan")

    def delete(self, e: PlanEntry, path: Path, current: str | None) -> None:
        if current is None:
            self.result.deleted.append(e.path)
            self.record(e, Action.DELETE, "already-applied")
        elif current != e.local_sha:
            self.changed(e)
        else:
            path.unlink()
            self.batch.changed(path.parent)
            if path.suffix == ".py":
                fs.drop_bytecode(path)
                fs.remove_empty_dirs(path.parent / "__pycache__", self.target)
            fs.remove_empty_dirs(path.parent, self.target)
            self.result.deleted.append(e.path)
            self.record(e, Action.DELETE, "deleted")

    def remember_local(self, sides: _Sides) -> None:
        """Cache your version, so a resumed run recognises the merge it wrote. (The blob cache
        takes bytes: this is the one place a big merged file is read whole.)"""
        bl.store_blob(self.target, sides.local().read_bytes())

    def conflict(self, e: PlanEntry, path: Path, current: str | None) -> None:
        if current is not None and current == e.local_sha and path.is_symlink():
            # the user's link over a managed file: kept as it is, never followed or written
            # through, upstream's version beside it whatever the policy
            sha = self.write_upstream(e, 0o644, rel=layout.side_file(e.path))
            self.result.unresolved.append(e.path)
            self.record(e, Choice.KEEP_LOCAL, "kept-your-link", sha)
            return
        sides = _Sides(self, e, path if current is not None else None)
        try:
            if current != e.local_sha:
                self.resume(e, current, sides)
            else:
                self.resolve(e, path, current, sides)
        except _ChangedMeanwhile:
            self.changed(e)
        finally:
            sides.close()

    def resume(self, e: PlanEntry, current: str | None, sides: _Sides) -> None:
        """The file is no longer what the plan saw: done by an earlier, interrupted run of this
        plan (upstream's version, or the merge it wrote), or changed by someone else."""
        done = current == e.upstream_sha
        if not done and current is not None and e.local_sha:
            original = bl.load_blob(self.target, e.local_sha)
            if original is not None:
                sides.use_local(original)
                outcome = sides.merge()
                done = outcome is not None and outcome[1] == current
        if not done:
            self.changed(e)
            return
        assert current is not None
        self.wrote(e.path, current, new=e.local_sha is None)
        self.record(e, "resume", "already-applied", current)

    def resolve(self, e: PlanEntry, path: Path, current: str | None, sides: _Sides) -> None:
        mode = _mode_for(path, e.mode, e.base_mode) if current is not None else e.mode
        if e.action == "auto-merge":  # edits that do not overlap: no conflict, no question
            outcome = sides.merge()
            if outcome is not None and not outcome[2]:
                self.remember_local(sides)
                sha = self.write(e, fs.file_chunks(outcome[0]), mode)
                self.record(e, Choice.MERGE, "merged", sha)
                return
        decision = self.choose(e, sides)
        if decision == Choice.TAKE_UPSTREAM:
            sha = self.write_upstream(e, _mode_for(path, e.mode, e.base_mode))
            self.record(e, decision, "written", sha)
            return
        if decision == Choice.MERGE:
            outcome = sides.merge()
            if outcome is not None:
                if current is not None:
                    self.remember_local(sides)
                sha = self.write(e, fs.file_chunks(outcome[0]), mode)
                if outcome[2]:
                    self.result.unresolved.append(e.path)
                self.record(e, decision, "conflict-markers" if outcome[2] else "merged", sha)
                if outcome[2]:
                    self.result.decisions[-1].line = _first_marker(outcome[0])
                return
            decision, fallback = Choice.KEEP_LOCAL, "cannot-merge-kept-local"
        elif decision == Choice.SKIP:
            self.result.unresolved.append(e.path)
            self.record(e, decision, "skipped")
            return
        else:
            fallback = "kept-local"
        sha = self.write_upstream(e, 0o644, rel=layout.side_file(e.path))
        self.result.unresolved.append(e.path)
        self.record(e, Choice.KEEP_LOCAL, fallback, sha)

    def choose(self, e: PlanEntry, sides: _Sides) -> Choice:
        if self.policy != Policy.PROMPT:
            return Choice(self.policy.value)
        if self.decide is None:
            return Choice.KEEP_LOCAL  # never wait for an answer nobody can give
        answer = (self.decide(e, self.prompt_info(e, sides)) or "").strip()
        return Choice(answer) if answer in set(Choice) else Choice.SKIP

    def prompt_info(self, e: PlanEntry, sides: _Sides) -> dict[str, Any]:
        """What a decider is shown: diffs of both sides (none for binary or big files), and
        whether a merge would be clean."""
        local, upstream = sides.local(), sides.upstream()
        binary = is_binary_file(local) or is_binary_file(upstream)
        info: dict[str, Any] = {
            "path": e.path,
            "klass": e.klass,
            "binary": binary,
            "side_file": layout.side_file(e.path),
        }
        if binary:
            return info
        size = max(local.stat().st_size, upstream.stat().st_size)
        if size > DIFF_MAX:
            info["diff"] = (
                f"(no diff: the file is {size / (1 << 20):.1f} MiB; "
                f"compare {e.path} with upstream's version yourself)"
            )
        else:
            info.update(_diffs(e, local.read_bytes(), upstream.read_bytes(), sides.base()))
        outcome = sides.merge()
        info["merge_clean"] = outcome is not None and not outcome[2]
        return info


def _diffs(e: PlanEntry, local: bytes, upstream: bytes, base: Path | None) -> dict[str, str]:
    """The diffs a decider is shown: `diff`, yours against upstream (for deciders that want one
    view); `yours_diff` and `upstream_diff`, what the prompt shows, as `plan --diff` does (each
    side's change from the base)."""
    lines = list(
        difflib.unified_diff(
            local.decode("utf-8", "replace").splitlines(),
            upstream.decode("utf-8", "replace").splitlines(),
            f"local/{e.path}",
            f"upstream/{e.path}",
            lineterm="",
        )
    )
    more = [f"... ({len(lines) - DIFF_LINES} more lines)"] if len(lines) > DIFF_LINES else []
    old = base.read_bytes() if e.base_sha and base is not None else None
    three = conflict_diffs(e.path, old, local, upstream)
    return {
        "diff": "\n".join(lines[:DIFF_LINES] + more),
        "yours_diff": _clipped(three["yours"]),
        "upstream_diff": _clipped(three["upstream"]),
    }


def apply_plan(
    plan: Plan,
    target: Path,
    repo: SourceRepo,
    *,
    policy: Policy | str,
    decide: Decide | None = None,
    progress: Callable[[int, int], None] | None = None,
    only_owner: str | None = None,
) -> ApplyResult:
    """Carry out the plan's writes and deletions (of one owner, if given) under a conflict policy.

    Each file is re-hashed first: one that changed since planning is skipped and reported, and one
    already at its planned content (an interrupted earlier run) is counted as done.

    The new files take their places together at the end, their bytes durable first, and all of
    it is durable when this returns (so a step may record it); if this raises, the writes not yet
    in place are dropped.
    """
    if policy not in set(Policy):
        raise ValueError(f"unknown conflict policy {policy!r} (one of {', '.join(Policy)})")
    policy = Policy(policy)
    entries = [e for e in plan.entries if only_owner is None or e.owner == only_owner]
    todo = [e for e in entries if e.action.writes]
    conflicts = [e.path for e in entries if e.is_conflict]
    if policy == Policy.FAIL and conflicts:
        raise ConflictsError(
            f"{len(conflicts)} conflict(s) and the policy is `fail`; nothing was written:\n"
            + "\n".join(f"  - {p}" for p in conflicts[:20]),
            hint="choose --conflicts keep-local, take-upstream, merge or prompt",
        )
    with durable.batch(staged=True, root=target) as batch:
        applier = _Applier(target, repo, policy, decide, batch)
        applier.result.owner = only_owner
        _apply_entries(applier, entries, todo, progress)
    _drop_bytecode(target, applier.result)
    return applier.result


def _apply_entries(
    applier: _Applier,
    entries: list[PlanEntry],
    todo: list[PlanEntry],
    progress: Callable[[int, int], None] | None,
) -> None:
    for e in entries:
        if e.action == Action.KEEP:
            applier.record(e, Action.KEEP, "kept" if e.klass == Klass.LOCAL_CHANGED else "reported")
        elif e.action == Action.STAY_DELETED and e.is_conflict:
            applier.record(e, Action.STAY_DELETED, "reported")
            applier.result.unresolved.append(e.path)
    for done, e in enumerate(todo, 1):
        applier.apply(e)
        if progress is not None:
            progress(done, len(todo))


def _drop_bytecode(target: Path, result: ApplyResult) -> None:
    """Drop the cached bytecode of every Python file now in place (see `fs.drop_bytecode`)."""
    for rel in result.written:
        if rel.endswith(".py"):
            fs.drop_bytecode(target / rel)


def new_baseline(
    plan: Plan,
    target: Path,
    repo: SourceRepo,
    results: ApplyResult | Iterable[ApplyResult],
    *,
    entries: Iterable[PlanEntry] | None = None,
) -> bl.Baseline:
    """The record of what is installed now; also caches every base blob for later merges.

    Applied paths get the upstream version as their base (a kept local edit stays a local edit);
    paths skipped or changed since planning, and owners not applied, keep their old base.
    `entries` replaces ``plan.entries`` (e.g. made one at a time, see ``PlanResult.walk``).
    """
    started = time.time_ns()
    applied = [results] if isinstance(results, ApplyResult) else list(results)
    owners = {r.owner for r in applied}
    decisions = {d.path: d for r in applied for d in r.decisions}
    written = {p for r in applied for p in r.written}
    planned = set(plan.owners)
    # only its records of other owners are kept (none in a whole upgrade), and only they are read
    old = bl.load(target, files=lambda rel: layout.owner_of(rel) not in planned)
    files: dict[str, bl.FileRecord] = dict(old.files) if old is not None else {}
    environment = old.environment if old is not None else None
    del old
    for e in plan.entries if entries is None else entries:
        d = decisions.get(e.path)
        keep_old = (None not in owners and e.owner not in owners) or (
            d is not None and d.result in NOT_APPLIED
        )
        if keep_old:
            if e.base_sha is None or e.base_git_blob is None:
                continue
            sha, blob, mode = e.base_sha, e.base_git_blob, e.base_mode or 0o644
        elif e.upstream_git_blob is None or e.upstream_sha is None:
            continue
        else:
            sha, blob, mode = e.upstream_sha, e.upstream_git_blob, e.mode or 0o644
        files[e.path] = _record(target, e, sha, blob, mode, e.path in written)
    record = bl.Baseline(
        version=plan.to_version,
        commit=plan.upstream_commit,
        source_path=str(repo.path),
        installed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        adopted_from=None,
        files=files,
        recorded_ns=started,
        environment=environment,
    )
    del decisions, written  # not held while the blob cache is filled
    bl.cache_blobs(target, record, repo)
    return record


def _record(
    target: Path, e: PlanEntry, sha: str, blob: str, mode: int, written: bool
) -> bl.FileRecord:
    # a string, not a Path: pathlib parses (and interns) every part of every path
    path = os.path.join(target, e.path)
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return bl.FileRecord(sha, blob, mode)
    if (
        not written
        and (st.st_size, st.st_mtime_ns) == (e.local_size, e.local_mtime_ns)
        and e.local_sha
    ):
        local: str | None = e.local_sha
    else:
        try:
            local = fs.sha256_entry(path)
        except OSError:
            local = None
        if local is None:
            return bl.FileRecord(sha, blob, mode)
    return bl.FileRecord(
        sha, blob, mode, st.st_size, st.st_mtime_ns, None if local == sha else local
    )


def conflict_leftovers(target: Path) -> list[str]:
    """Upstream side files and files still holding conflict markers, in the upstream areas."""
    found: list[str] = []
    for area in layout.MANAGED_TARGET_DIRS:
        for path in sorted((target / area).rglob("*")):
            rel = path.relative_to(target).as_posix()
            if path.is_symlink() or not path.is_file() or layout.owner_of(rel) == "runtime":
                continue
            if rel.endswith(layout.SIDE_SUFFIX):
                found.append(rel)
                continue
            try:
                if path.stat().st_size < (2 << 20) and has_markers(path.read_bytes()):
                    found.append(rel)
            except OSError:
                continue
    return found
