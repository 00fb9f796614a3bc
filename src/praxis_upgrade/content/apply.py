"""Applying a plan: per-file atomic writes, re-checked hashes, conflict policies, new baseline."""

from __future__ import annotations

import dataclasses
import difflib
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.diffs import conflict_diffs
from praxis_upgrade.content.merge import has_markers, is_binary, merge3
from praxis_upgrade.content.plan import Plan, PlanEntry, base_bytes
from praxis_upgrade.content.vocab import Action, Choice, Klass, Policy
from praxis_upgrade.errors import ConflictsError
from praxis_upgrade.source import layout
from praxis_upgrade.source.repo import MissingObject, SourceRepo
from praxis_upgrade.util import fs

#: results after which the file is not what the plan meant; its old base is kept
NOT_APPLIED = ("changed-since-plan", "skipped", "failed")
DIFF_LINES = 400  # of the diff shown at a prompt
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


def _first_marker(data: bytes) -> int:
    for number, line in enumerate(data.splitlines(), 1):
        if line.startswith(b"<<<<<<< "):
            return number
    return 1


def _current(path: Path) -> str | None:
    """What the plan saw at `path` (a file's bytes or a link's target), None if nothing."""
    try:
        return fs.sha256_entry(path)
    except OSError:
        return None


class _Applier:
    def __init__(
        self, target: Path, repo: SourceRepo, policy: Policy, decide: Decide | None
    ) -> None:
        self.target, self.repo, self.policy, self.decide = target, repo, policy, decide
        self.result = ApplyResult()

    # -- content ---------------------------------------------------------------------------
    def upstream(self, e: PlanEntry) -> bytes:
        assert e.upstream_git_blob is not None
        data = self.repo.blob(e.upstream_git_blob)
        if fs.sha256_bytes(data) != e.upstream_sha:
            raise MissingObject(f"the source's copy of {e.path} does not match the plan")
        return data

    def base(self, e: PlanEntry) -> bytes | None:
        if e.base_sha is None:
            return b""  # add/add: merge against an empty base
        return base_bytes(self.target, self.repo, e.base_git_blob, e.base_sha)

    # -- bookkeeping -----------------------------------------------------------------------
    def record(self, e: PlanEntry, decision: str, result: str, sha: str | None = None) -> None:
        self.result.decisions.append(Decision(e.path, e.klass, e.action, decision, result, sha))

    def wrote(self, rel: str, sha: str, *, new: bool) -> None:
        self.result.written[rel] = sha
        if new and rel not in self.result.added:
            self.result.added.append(rel)

    def write(self, e: PlanEntry, data: bytes, mode: int | None, *, rel: str | None = None) -> str:
        rel = rel or e.path
        path = fs.inside(self.target, rel, follow_last=False)
        new = (e.local_sha is None) if rel == e.path else not path.exists()
        fs.atomic_write_bytes(path, data, mode=mode)
        fs.drop_bytecode(path)
        sha = fs.sha256_bytes(data)
        self.wrote(rel, sha, new=new)
        return sha

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
                sha = self.write(e, self.upstream(e), _mode_for(path, e.mode, e.base_mode))
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
            if path.suffix == ".py":
                fs.drop_bytecode(path)
                fs.remove_empty_dirs(path.parent / "__pycache__", self.target)
            fs.remove_empty_dirs(path.parent, self.target)
            self.result.deleted.append(e.path)
            self.record(e, Action.DELETE, "deleted")

    def merged(self, e: PlanEntry, local: bytes) -> tuple[bytes, bool] | None:
        base, upstream = self.base(e), self.upstream(e)
        if base is None or any(is_binary(x) for x in (base, local, upstream)):
            return None
        result = merge3(base, local, upstream)
        return result.data, result.conflicted

    def conflict(self, e: PlanEntry, path: Path, current: str | None) -> None:
        if current is not None and current == e.local_sha and path.is_symlink():
            # the user's link over a managed file: kept as it is, never followed or written
            # through, upstream's version beside it whatever the policy
            sha = self.write(e, self.upstream(e), 0o644, rel=layout.side_file(e.path))
            self.result.unresolved.append(e.path)
            self.record(e, Choice.KEEP_LOCAL, "kept-your-link", sha)
            return
        local = path.read_bytes() if current is not None and not path.is_symlink() else b""
        if current != e.local_sha:
            original = bl.load_blob(self.target, e.local_sha) if e.local_sha else None
            outcome = self.merged(e, original) if original is not None else None
            done = {e.upstream_sha} | ({fs.sha256_bytes(outcome[0])} if outcome else set())
            if current in done:  # written by an earlier, interrupted run of this plan
                assert current is not None
                self.wrote(e.path, current, new=e.local_sha is None)
                self.record(e, "resume", "already-applied", current)
            else:
                self.changed(e)
            return
        mode = _mode_for(path, e.mode, e.base_mode) if current is not None else e.mode
        if e.action == "auto-merge":  # edits that do not overlap: no conflict, no question
            outcome = self.merged(e, local)
            if outcome is not None and not outcome[1]:
                bl.store_blob(self.target, local)
                self.record(e, Choice.MERGE, "merged", self.write(e, outcome[0], mode))
                return
        decision = self.choose(e, local)
        if decision in (Choice.TAKE_UPSTREAM, Choice.MERGE) and current is not None:
            bl.store_blob(self.target, local)  # lets a resumed run recognise its own merge
        if decision == Choice.TAKE_UPSTREAM:
            self.record(
                e,
                decision,
                "written",
                self.write(e, self.upstream(e), _mode_for(path, e.mode, e.base_mode)),
            )
            return
        if decision == Choice.MERGE:
            outcome = self.merged(e, local)
            if outcome is not None:
                sha = self.write(e, outcome[0], mode)
                if outcome[1]:
                    self.result.unresolved.append(e.path)
                self.record(e, decision, "conflict-markers" if outcome[1] else "merged", sha)
                if outcome[1]:
                    self.result.decisions[-1].line = _first_marker(outcome[0])
                return
            decision, fallback = Choice.KEEP_LOCAL, "cannot-merge-kept-local"
        elif decision == Choice.SKIP:
            self.result.unresolved.append(e.path)
            self.record(e, decision, "skipped")
            return
        else:
            fallback = "kept-local"
        sha = self.write(e, self.upstream(e), 0o644, rel=layout.side_file(e.path))
        self.result.unresolved.append(e.path)
        self.record(e, Choice.KEEP_LOCAL, fallback, sha)

    def choose(self, e: PlanEntry, local: bytes) -> Choice:
        if self.policy != Policy.PROMPT:
            return Choice(self.policy.value)
        if self.decide is None:
            return Choice.KEEP_LOCAL  # never wait for an answer nobody can give
        upstream = self.upstream(e)
        binary = is_binary(local) or is_binary(upstream)
        info: dict[str, Any] = {
            "path": e.path,
            "klass": e.klass,
            "binary": binary,
            "side_file": layout.side_file(e.path),
        }
        if not binary:  # "diff": yours against upstream, for deciders that want one view
            diff = difflib.unified_diff(
                local.decode("utf-8", "replace").splitlines(),
                upstream.decode("utf-8", "replace").splitlines(),
                f"local/{e.path}",
                f"upstream/{e.path}",
                lineterm="",
            )
            lines = list(diff)
            info["diff"] = "\n".join(
                lines[:DIFF_LINES]
                + (
                    [f"... ({len(lines) - DIFF_LINES} more lines)"]
                    if len(lines) > DIFF_LINES
                    else []
                )
            )
            # what the prompt shows, as `plan --diff` does: each side's change from the base
            three = conflict_diffs(e.path, self.base(e) if e.base_sha else None, local, upstream)
            info["yours_diff"] = _clipped(three["yours"])
            info["upstream_diff"] = _clipped(three["upstream"])
            outcome = self.merged(e, local)
            info["merge_clean"] = outcome is not None and not outcome[1]
        answer = (self.decide(e, info) or "").strip()
        return Choice(answer) if answer in set(Choice) else Choice.SKIP


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
    applier = _Applier(target, repo, policy, decide)
    applier.result.owner = only_owner
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
    return applier.result


def new_baseline(
    plan: Plan, target: Path, repo: SourceRepo, results: ApplyResult | Iterable[ApplyResult]
) -> bl.Baseline:
    """The record of what is installed now; also caches every base blob for later merges.

    Applied paths get the upstream version as their base (a kept local edit stays a local edit);
    paths skipped or changed since planning, and owners not applied, keep their old base.
    """
    started = time.time_ns()
    applied = [results] if isinstance(results, ApplyResult) else list(results)
    owners = {r.owner for r in applied}
    decisions = {d.path: d for r in applied for d in r.decisions}
    written = {p for r in applied for p in r.written}
    old = bl.load(target)
    files: dict[str, bl.FileRecord] = {}
    if old is not None:
        files.update((p, r) for p, r in old.files.items() if layout.owner_of(p) not in plan.owners)
    for e in plan.entries:
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
        environment=old.environment if old is not None else None,
    )
    bl.cache_blobs(target, record, repo)
    return record


def _record(
    target: Path, e: PlanEntry, sha: str, blob: str, mode: int, written: bool
) -> bl.FileRecord:
    path = target / e.path
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
