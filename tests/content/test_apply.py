"""Applying plans: policies, re-checks, resume, binary files, deletions, the new baseline."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from kits.contentkit import (
    BASE_FILES,
    ROWS,
    TEXT,
    Source,
    age,
    baseline_for,
    build_rows,
    edit,
    install,
    make_source,
    snapshot,
)
from kits.sandboxkit import Sandbox
from praxis_upgrade import demo
from praxis_upgrade.content import adopt
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.apply import (
    ApplyResult,
    _Applier,
    apply_plan,
    conflict_leftovers,
    new_baseline,
)
from praxis_upgrade.content.plan import Plan, PlanEntry, make_plan
from praxis_upgrade.engine.results import PlanResult
from praxis_upgrade.errors import ConflictsError
from praxis_upgrade.source import layout
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.util import durable

Rows = tuple[Source, Path]
T = "standards/universal/rows/"


@pytest.fixture
def rows(tmp_path: Path) -> Rows:
    return build_rows(tmp_path)


def _plan(src: Source, target: Path) -> tuple[Plan, SourceRepo]:
    repo = SourceRepo(src.path)
    return make_plan(target, repo, "HEAD", bl.load(target)), repo


def _user_snapshot(target: Path) -> dict[str, bytes]:
    managed = (
        "standards/universal/",
        "workflows/",
        "mcp_server/",
        "scripts/",
        "usage/",
        ".praxis-upgrade/",
        ".cache/praxis-upgrade/",
    )
    return {p: d for p, d in snapshot(target).items() if not p.startswith(managed)}


def _up(name: str) -> bytes:
    up = ROWS[name][1]
    assert isinstance(up, bytes)
    return up


def test_keep_local_applies_upstream_keeps_edits_and_leaves_side_files(rows: Rows) -> None:
    src, target = rows
    (target / "workspace").mkdir()
    (target / "workspace/notes.md").write_bytes(b"mine\xff\n")
    before = _user_snapshot(target)
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="keep-local")
    f = lambda n: target / f"{T}{n}.md"  # noqa: E731
    assert f("upstream-changed").read_bytes() == _up("upstream-changed")
    assert f("local-changed").read_bytes() == ROWS["local-changed"][0]
    assert f("conflict").read_bytes() == ROWS["conflict"][0]
    assert (target / f"{T}conflict.md.praxis-upstream").read_bytes() == _up("conflict")
    assert not f("upstream-deleted").exists()
    assert (
        f("local-changed-upstream-deleted").read_bytes()
        == ROWS["local-changed-upstream-deleted"][0]
    )
    assert not f("locally-deleted").exists() and not f("conflict-modify-delete").exists()
    assert f("added").read_bytes() == b"upstream new\n"
    assert f("conflict-add-add").read_bytes() == b"my own file\n"
    assert _user_snapshot(target) == before
    assert set(result.added) == {
        f"{T}added.md",
        f"{T}conflict.md.praxis-upstream",
        f"{T}conflict-add-add.md.praxis-upstream",
    }
    assert result.deleted == [f"{T}upstream-deleted.md"]
    assert f("both-changed").read_bytes() == edit(ROWS["both-changed"][0], 10, b"up")  # type: ignore[arg-type]
    assert set(result.written) == {f"{T}upstream-changed.md", f"{T}both-changed.md", *result.added}
    assert set(result.unresolved) == {
        f"{T}conflict.md",
        f"{T}conflict-add-add.md",
        f"{T}conflict-modify-delete.md",
    }
    decisions = {d.path: (d.decision, d.result) for d in result.decisions}
    assert decisions[f"{T}conflict.md"] == ("keep-local", "kept-local")
    assert decisions[f"{T}conflict-modify-delete.md"] == ("stay-deleted", "reported")
    assert decisions[f"{T}local-changed-upstream-deleted.md"] == ("keep", "reported")
    assert decisions[f"{T}local-changed.md"] == ("keep", "kept")
    assert decisions[f"{T}both-changed.md"] == ("merge", "merged")
    assert ApplyResult.from_json(result.to_json()) == result
    assert conflict_leftovers(target) == [
        f"{T}conflict-add-add.md.praxis-upstream",
        f"{T}conflict.md.praxis-upstream",
    ]


def test_take_upstream_overwrites_conflicts(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    apply_plan(plan, target, repo, policy="take-upstream")
    assert (target / f"{T}conflict.md").read_bytes() == _up("conflict")
    assert (target / f"{T}conflict-add-add.md").read_bytes() == b"upstream new\n"
    assert not (target / f"{T}conflict.md.praxis-upstream").exists()


def test_merge_writes_markers_for_overlapping_edits_and_reports_them(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="merge")
    data = (target / f"{T}conflict.md").read_bytes()
    assert b"<<<<<<< local\nmine\n||||||| base\nline 1\n=======\nup\n>>>>>>> upstream\n" in data
    assert result.decision_for(f"{T}conflict.md").result == "conflict-markers"  # type: ignore[union-attr]
    assert f"{T}conflict.md" in result.unresolved
    assert f"{T}conflict.md" in conflict_leftovers(target)


def test_merge_writes_a_clean_merge_of_separate_edits(tmp_path: Path) -> None:
    path = "universal/standards/rows/doc.md"
    src = make_source(tmp_path, {**BASE_FILES, path: TEXT})
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "standards/universal/rows/doc.md").write_bytes(edit(TEXT, 1, b"mine"))
    src.commit({path: edit(TEXT, 10, b"upstream")})
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="merge")
    assert (target / "standards/universal/rows/doc.md").read_bytes() == edit(
        edit(TEXT, 1, b"mine"), 10, b"upstream"
    )
    assert result.decisions[0].result == "merged" and not result.unresolved
    assert conflict_leftovers(target) == []


def test_fail_refuses_before_writing_anything(rows: Rows) -> None:
    src, target = rows
    before = snapshot(target)
    plan, repo = _plan(src, target)
    with pytest.raises(ConflictsError, match="conflict.md") as info:
        apply_plan(plan, target, repo, policy="fail")
    assert "both-changed" not in str(info.value)  # edits that merge cleanly are no conflict
    assert snapshot(target) == before


def test_prompt_asks_for_each_conflict_and_follows_the_answer(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    asked: list[tuple[str, dict[str, Any]]] = []

    def decide(entry: PlanEntry, info: dict[str, Any]) -> str:
        asked.append((entry.path, info))
        return "take-upstream" if entry.klass == "conflict" else ""

    result = apply_plan(plan, target, repo, policy="prompt", decide=decide)
    assert [p for p, _ in asked] == [f"{T}conflict-add-add.md", f"{T}conflict.md"]
    info = dict(asked)[f"{T}conflict.md"]
    assert "-mine" in info["diff"] and "+up" in info["diff"] and info["merge_clean"] is False
    assert (target / f"{T}conflict.md").read_bytes() == _up("conflict")
    # an empty answer never overwrites and leaves no side file
    assert (target / f"{T}conflict-add-add.md").read_bytes() == b"my own file\n"
    assert not (target / f"{T}conflict-add-add.md.praxis-upstream").exists()
    assert result.decision_for(f"{T}conflict-add-add.md").result == "skipped"  # type: ignore[union-attr]


def test_prompt_without_anyone_to_ask_keeps_local(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    apply_plan(plan, target, repo, policy="prompt")
    assert (target / f"{T}conflict.md").read_bytes() == ROWS["conflict"][0]
    assert (target / f"{T}conflict.md.praxis-upstream").exists()


def test_a_file_changed_after_planning_is_not_overwritten(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    (target / f"{T}upstream-changed.md").write_bytes(b"edited while the plan was shown\n")
    (target / f"{T}upstream-deleted.md").write_bytes(b"edited too\n")
    (target / f"{T}added.md").write_bytes(b"created meanwhile\n")
    result = apply_plan(plan, target, repo, policy="take-upstream")
    assert (target / f"{T}upstream-changed.md").read_bytes() == b"edited while the plan was shown\n"
    assert (target / f"{T}upstream-deleted.md").read_bytes() == b"edited too\n"
    assert (target / f"{T}added.md").read_bytes() == b"created meanwhile\n"
    assert set(result.changed_since_plan) == {
        f"{T}upstream-changed.md",
        f"{T}upstream-deleted.md",
        f"{T}added.md",
    }
    assert f"{T}upstream-changed.md" not in result.written


@pytest.mark.parametrize("policy", ["keep-local", "take-upstream", "merge"])
def test_applying_again_after_an_interrupted_run_finishes_the_job(rows: Rows, policy: str) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    first = apply_plan(plan, target, repo, policy=policy)
    after_first = snapshot(target)
    again = apply_plan(plan, target, repo, policy=policy)  # as if the session resumed after a crash
    assert snapshot(target) == after_first
    assert not again.changed_since_plan
    assert again.written == first.written and set(again.deleted) == set(first.deleted)
    assert set(again.added) == {p for p in first.added if not p.endswith(".praxis-upstream")} | {
        p for p in again.added if p.endswith(".praxis-upstream")
    }


def test_a_binary_conflict_is_never_merged(tmp_path: Path) -> None:
    path = "universal/workflows/w/diagram.png"
    base = b"\x89PNG\r\n\x1a\n\x00base"
    src = make_source(tmp_path, {**BASE_FILES, path: base})
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "workflows/w/diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00mine")
    src.commit({path: b"\x89PNG\r\n\x1a\n\x00upstream"})
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="merge")
    assert (target / "workflows/w/diagram.png").read_bytes() == b"\x89PNG\r\n\x1a\n\x00mine"
    assert (
        target / "workflows/w/diagram.png.praxis-upstream"
    ).read_bytes() == b"\x89PNG\r\n\x1a\n\x00upstream"
    assert result.decisions[0].result == "cannot-merge-kept-local"


def test_non_utf8_files_merge_byte_exact(tmp_path: Path) -> None:
    path = "universal/standards/x/latin1.md"
    base = b"caf\xe9\nmiddle\nend\n"
    src = make_source(tmp_path, {**BASE_FILES, path: base})
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "standards/universal/x/latin1.md").write_bytes(b"caf\xe9 cr\xe8me\nmiddle\nend\n")
    src.commit({path: b"caf\xe9\nmiddle\nend \xa7\n"})
    plan, repo = _plan(src, target)
    apply_plan(plan, target, repo, policy="merge")
    assert (
        target / "standards/universal/x/latin1.md"
    ).read_bytes() == b"caf\xe9 cr\xe8me\nmiddle\nend \xa7\n"


def test_base_comes_from_the_blob_cache_when_the_clone_lacks_it(tmp_path: Path) -> None:
    path = "universal/standards/rows/doc.md"
    src = make_source(tmp_path, {**BASE_FILES, path: TEXT})
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "standards/universal/rows/doc.md").write_bytes(edit(TEXT, 1, b"mine"))
    src.commit({path: edit(TEXT, 10, b"upstream")})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{src.path}", str(shallow)], check=True
    )
    repo = SourceRepo(shallow)
    plan = make_plan(target, repo, "HEAD", bl.load(target))
    no_cache = apply_plan(plan, target, repo, policy="merge")
    assert no_cache.decisions[0].result == "cannot-merge-kept-local"
    (target / "standards/universal/rows/doc.md.praxis-upstream").unlink()
    assert bl.cache_blobs(target, bl.load(target), SourceRepo(src.path)) == len(
        bl.load(target).files
    )  # type: ignore[arg-type]
    bl.save(target, bl.load(target), repo=SourceRepo(src.path))  # type: ignore[arg-type]  # all cached already
    plan = make_plan(target, repo, "HEAD", bl.load(target))
    result = apply_plan(plan, target, repo, policy="merge")
    assert result.decisions[0].result == "merged"


def test_deletions_remove_emptied_folders_but_never_user_files(tmp_path: Path) -> None:
    files = {
        **BASE_FILES,
        "universal/workflows/old_v1/a.md": b"a\n",
        "universal/workflows/old_v1/p/b.md": b"b\n",
        "universal/workflows/old2_v1/c.md": b"c\n",
        "mcp_server/legacy.py": b"x = 1\n",
    }
    src = make_source(tmp_path, files)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "workflows/old2_v1/mine.md").write_text("user file\n")
    (target / "mcp_server/__pycache__").mkdir()
    (target / "mcp_server/__pycache__/legacy.cpython-311.pyc").write_bytes(b"\0")
    src.commit({p: None for p in files if "old" in p or "legacy" in p})
    plan, repo = _plan(src, target)
    apply_plan(plan, target, repo, policy="keep-local")
    assert not (target / "workflows/old_v1").exists()
    assert (target / "workflows/old2_v1/mine.md").read_text() == "user file\n"
    assert not (target / "mcp_server/__pycache__").exists() and (target / "mcp_server").is_dir()


def test_modes_of_upstream_files_are_kept(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    src.commit({"scripts/pre-commit/new.sh": b"#!/bin/sh\n"})
    plan, repo = _plan(src, target)
    apply_plan(plan, target, repo, policy="keep-local")
    assert (target / "scripts/pre-commit/new.sh").stat().st_mode & 0o777 == 0o755


def test_only_owner_applies_one_part_of_the_plan(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    src.commit(
        {
            "scripts/build_rag_index.py": b"INDEX = 9\n",
            "universal/standards/testing/pyramid.md": b"new\n",
        }
    )
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="keep-local", only_owner="content")
    assert list(result.written) == ["standards/universal/testing/pyramid.md"]
    assert (target / "scripts/build_rag_index.py").read_bytes() == b"INDEX = 1\n"
    record = new_baseline(plan, target, repo, [result])
    assert record.files["scripts/build_rag_index.py"].sha256 == bl.hash_bytes(b"INDEX = 1\n")[0]
    bl.save(target, record)
    again = make_plan(target, repo, "HEAD", record)
    assert [e.path for e in again.changes()] == ["scripts/build_rag_index.py"]


def test_the_new_baseline_keeps_local_edits_local_and_makes_the_next_run_a_no_op(
    rows: Rows,
) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="keep-local")
    record = new_baseline(plan, target, repo, result)
    bl.save(target, record)
    assert record.version == "v2.0.0" and record.commit == plan.upstream_commit
    assert set(bl.modified(record)) == {
        f"{T}{n}.md" for n in ("local-changed", "conflict", "conflict-add-add", "both-changed")
    }
    assert (
        f"{T}local-changed-upstream-deleted.md" not in record.files
    )  # upstream let go of it: the user's now
    age(target)
    next_plan = make_plan(target, repo, "HEAD", bl.load(target))
    assert next_plan.changes() == []
    klass = {e.path: e.klass for e in next_plan.entries}
    assert klass[f"{T}conflict.md"] == "local-changed"
    assert klass[f"{T}conflict-modify-delete.md"] == "locally-deleted"
    for rec in record.files.values():  # every base is cached for later merges
        assert bl.load_blob(target, rec.sha256) is not None


def test_a_skipped_conflict_comes_back_next_time(rows: Rows) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    result = apply_plan(plan, target, repo, policy="prompt", decide=lambda _e, _i: "skip")
    bl.save(target, new_baseline(plan, target, repo, result))
    again = make_plan(target, repo, "HEAD", bl.load(target))
    assert {e.path for e in again.conflicts()} >= {f"{T}conflict.md", f"{T}conflict-add-add.md"}


# -- over the sandbox's realistic releases -------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox_source(sandbox: Sandbox) -> demo.Source:
    return sandbox.source  # demo.make_source(<dir>/praxis-os), built once per session


def _outside_praxis(project: Path) -> dict[str, bytes]:
    return {
        p: d for p, d in snapshot(project).items() if not p.startswith((".git/", ".praxis-os/"))
    }


def _upgrade(praxis: Path, repo: SourceRepo, rev: str, policy: str) -> tuple[Plan, ApplyResult]:
    record = bl.load(praxis) or adopt.adopt(praxis, repo)
    plan = make_plan(praxis, repo, rev, record)
    assert not plan.problems
    result = apply_plan(plan, praxis, repo, policy=policy)
    bl.save(praxis, new_baseline(plan, praxis, repo, result))
    return plan, result


def _assert_upgraded(
    praxis: Path,
    repo: SourceRepo,
    old_rev: str,
    user_edits: dict[str, str],
    edited: dict[str, bytes],
    result: ApplyResult,
) -> None:
    new, old = repo.tree("HEAD"), repo.tree(old_rev)
    for path, entry in new.items():
        if path not in user_edits:  # every upstream change applied, modes too
            assert (praxis / path).read_bytes() == repo.blob(entry.git_blob), path
            assert bool((praxis / path).stat().st_mode & 0o111) == bool(entry.mode & 0o111), path
    for path in old.keys() - new.keys() - user_edits.keys():
        assert not (praxis / path).exists(), path  # deleted/renamed upstream
    for path, kind in user_edits.items():
        after = praxis / path
        if kind == "delete":
            assert not after.exists(), path
            continue
        decision = result.decision_for(path)
        outcome = decision.result if decision else "untouched"
        if outcome in ("kept", "kept-local", "untouched", "reported"):
            assert after.read_bytes() == edited[path], path
        else:  # merged (with or without markers): every line the user wrote is still there
            base = set(repo.blob(old[path].git_blob).splitlines())
            assert {ln for ln in edited[path].splitlines() if ln not in base} <= set(
                after.read_bytes().splitlines()
            )


@pytest.mark.parametrize("edits", [False, True], ids=["untouched", "edited"])
@pytest.mark.parametrize("tag", demo.TAGS[:-1])
def test_sandbox_upgrade_from_every_older_tag_applies_upstream_and_keeps_the_users_work(
    sandbox: Sandbox, sandbox_source: demo.Source, tmp_path: Path, tag: str, edits: bool
) -> None:
    target = sandbox.target(
        tmp_path / "project", tag, edits=edits
    )  # a copy of demo.make_target(...)
    praxis = target.praxis
    user_files = {f: (praxis / f).read_bytes() for f in target.user_files}
    outside = _outside_praxis(target.project)
    edited = {p: (praxis / p).read_bytes() for p, k in target.user_edits.items() if k != "delete"}
    repo = SourceRepo(sandbox_source.path)
    plan, result = _upgrade(praxis, repo, "HEAD", "keep-local")
    assert {e.path for e in plan.conflicts()} <= set(target.user_edits)  # no false conflicts
    if not edits:
        assert not plan.conflicts() and not result.unresolved
    assert {e.path for e in plan.entries if e.klass == "local-changed"} <= set(target.user_edits)
    assert not result.changed_since_plan
    _assert_upgraded(praxis, repo, tag, target.user_edits, edited, result)
    assert {f: (praxis / f).read_bytes() for f in target.user_files} == user_files
    assert _outside_praxis(target.project) == outside
    side_files = {p for p in result.written if p.endswith(".praxis-upstream")}
    assert side_files == {
        f"{p}.praxis-upstream" for p in result.unresolved if (praxis / p).exists()
    }
    age(praxis)
    bl.save(praxis, new_baseline(plan, praxis, repo, result))
    again = make_plan(praxis, repo, "HEAD", bl.load(praxis))
    assert again.changes() == [] and again.hashed == 0


def test_sandbox_step_by_step_upgrades_with_merges_end_at_the_newest_release(
    sandbox: Sandbox, sandbox_source: demo.Source, tmp_path: Path
) -> None:
    first = demo.TAGS[0]
    target = sandbox.target(
        tmp_path / "project", first, edits=True
    )  # a copy of demo.make_target(...)
    praxis = target.praxis
    user_files = {f: (praxis / f).read_bytes() for f in target.user_files}
    repo = SourceRepo(sandbox_source.path)
    for tag in demo.TAGS[1:]:
        plan, result = _upgrade(praxis, repo, tag, "merge")
        assert {e.path for e in plan.conflicts()} <= set(target.user_edits)
        assert not result.changed_since_plan
    new = repo.tree(demo.TAGS[-1])
    for path, entry in new.items():
        if path not in target.user_edits:
            assert (praxis / path).read_bytes() == repo.blob(entry.git_blob), path
    assert {f: (praxis / f).read_bytes() for f in target.user_files} == user_files
    assert bl.load(praxis).version == demo.TAGS[-1]  # type: ignore[union-attr]


def test_apply_puts_files_in_place_after_their_bytes_are_durable_and_returns_durable(
    rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    changed = target / f"{T}upstream-changed.md"
    old = changed.read_bytes()
    seen: list[bytes] = []
    monkeypatch.setattr(
        durable, "system_syncfs", lambda: lambda _anchor: seen.append(changed.read_bytes())
    )
    monkeypatch.setattr(durable, "syncfs_reaches", lambda _root: True)
    apply_plan(plan, target, repo, policy="keep-local")
    # the bytes synced while the old file still stood, then the renames synced
    assert seen == [old, _up("upstream-changed")]
    assert not list(target.rglob(".*.tmp"))


def test_apply_that_fails_midway_leaves_no_temp_file_and_syncs_nothing(
    rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, target = rows
    plan, repo = _plan(src, target)
    syncs: list[Path] = []
    monkeypatch.setattr(durable, "system_syncfs", lambda: syncs.append)
    monkeypatch.setattr(durable, "syncfs_reaches", lambda _root: True)
    real = _Applier.apply
    calls = []

    def fail_late(self: _Applier, e: PlanEntry) -> None:
        calls.append(e.path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(self, e)

    monkeypatch.setattr(_Applier, "apply", fail_late)
    with pytest.raises(OSError, match="No space"):
        apply_plan(plan, target, repo, policy="keep-local")
    assert syncs == [] and not list(target.rglob(".*.tmp"))


def test_a_plan_of_one_owner_keeps_the_recorded_files_of_the_other_and_walks_alike(
    rows: Rows,
) -> None:
    src, target = rows
    old = bl.load(target)
    assert old is not None
    repo = SourceRepo(src.path)
    plan = make_plan(target, repo, "HEAD", old, owners=("content",))
    result = apply_plan(plan, target, repo, policy="keep-local")
    record = new_baseline(plan, target, repo, result)
    others = {p: r for p, r in old.files.items() if layout.owner_of(p) != "content"}
    assert others and {p: record.files[p] for p in others} == others
    walked = PlanResult(plan=plan.to_json()).walk()  # entries made one at a time
    assert new_baseline(plan, target, repo, result, entries=walked).files == record.files
