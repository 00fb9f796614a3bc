"""The three-way plan: every row of DESIGN.md §3, speed of a no-op, and refusals."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from kits.contentkit import (
    ADDED,
    BASE_FILES,
    ROWS,
    Source,
    age,
    baseline_for,
    build_rows,
    install,
    make_source,
)
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.apply import apply_plan
from praxis_upgrade.content.plan import Plan, make_plan
from praxis_upgrade.source.repo import SourceRepo

T = "standards/universal/rows/"


@pytest.fixture
def rows(tmp_path: Path) -> tuple[Source, Path]:
    return build_rows(tmp_path)


def _plan(src: Source, target: Path, rev: str = "HEAD") -> Plan:
    return make_plan(target, SourceRepo(src.path), rev, bl.load(target))


@pytest.mark.parametrize("name", [*ROWS, *ADDED])
def test_each_row_of_the_three_way_table_gets_its_class_and_action(
    rows: tuple[Source, Path], name: str
) -> None:
    plan = _plan(*rows)
    entry = {e.path: e for e in plan.entries}[f"{T}{name}.md"]
    klass, action = ROWS[name][2:] if name in ROWS else ADDED[name][1:]
    assert (entry.klass, entry.action) == (klass, action)


def test_the_plan_knows_versions_commits_and_counts(rows: tuple[Source, Path]) -> None:
    src, target = rows
    plan = _plan(src, target)
    assert (plan.from_version, plan.to_version) == ("v1.0.0", "v2.0.0")
    assert plan.upstream_commit == src.repo.head.commit.hexsha
    assert plan.counts()["conflict"] == 1 and plan.counts()["unchanged"] >= 10
    changed = {e.path for e in plan.changes()}
    assert changed == {
        f"{T}{n}.md"
        for n in (
            "upstream-changed",
            "conflict",
            "both-changed",
            "upstream-deleted",
            "added",
            "conflict-add-add",
        )
    }
    assert f"{T}conflict.md.praxis-upstream" in plan.touched_paths()
    assert Plan.from_json(plan.to_json()) == plan
    assert not plan.problems


def test_user_files_are_never_in_the_plan(rows: tuple[Source, Path]) -> None:
    src, target = rows
    (target / "workflows/mine_v1").mkdir()
    (target / "workflows/mine_v1/metadata.json").write_text("{}")
    (target / "standards/development").mkdir()
    (target / "standards/development/x.md").write_text("x")
    paths = {e.path for e in _plan(src, target).entries}
    assert not any(
        p.startswith(("workflows/mine_v1", "standards/development", "config.json")) for p in paths
    )


def test_owners_limit_the_plan(rows: tuple[Source, Path]) -> None:
    src, target = rows
    plan = make_plan(target, SourceRepo(src.path), "HEAD", bl.load(target), owners=("server",))
    assert plan.entries and {e.owner for e in plan.entries} == {"server"}


def test_a_rename_upstream_is_a_delete_and_an_add(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    old = "universal/standards/testing/pyramid.md"
    src.commit({old: None, "universal/standards/testing/test-pyramid.md": BASE_FILES[old]})
    plan = _plan(src, target)
    got = {e.path: e.klass for e in plan.changes()}
    assert got == {
        "standards/universal/testing/pyramid.md": "upstream-deleted",
        "standards/universal/testing/test-pyramid.md": "added",
    }


def test_an_upstream_mode_change_is_an_update(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (src.path / "scripts/build_rag_index.py").chmod(0o755)
    src.repo.git.add("scripts/build_rag_index.py")
    src.commit({})
    plan = _plan(src, target)
    entry = {e.path: e for e in plan.entries}["scripts/build_rag_index.py"]
    assert (entry.klass, entry.mode) == ("upstream-changed", 0o755)
    apply_plan(plan, target, SourceRepo(src.path), policy="keep-local")
    assert (target / "scripts/build_rag_index.py").stat().st_mode & 0o777 == 0o755


def test_a_no_op_plan_hashes_no_file(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    age(target)
    bl.save(target, baseline_for(target, src.path))
    plan = _plan(src, target)
    assert plan.hashed == 0 and not plan.changes()
    assert set(plan.counts()) == {"unchanged"}


def test_same_size_and_mtime_means_unchanged_like_the_git_index(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    age(target)
    bl.save(target, baseline_for(target, src.path))
    path = target / "scripts/build_rag_index.py"
    st = path.stat()
    path.write_bytes(b"INDEX = 2\n")  # same size: only a hash would notice
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    plan = _plan(src, target)
    assert plan.hashed == 0
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    plan = _plan(src, target)
    assert plan.hashed == 1
    assert {e.path: e.klass for e in plan.entries}["scripts/build_rag_index.py"] == "local-changed"


def test_files_written_just_before_the_baseline_are_hashed_again(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    # racily clean, whatever the machine's speed: every file was modified 1 ns before the baseline
    # recorded its stats, and the records hold exactly that stat (as if taken then)
    just_before = record.recorded_ns - 1
    for rel, file in record.files.items():
        os.utime(target / rel, ns=(just_before, just_before))
        record.files[rel] = dataclasses.replace(file, mtime_ns=just_before)
    bl.save(target, record)
    assert _plan(src, target).hashed == len(SourceRepo(src.path).tree("HEAD"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_with_a_matching_stat_still_plans(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    age(target)
    bl.save(target, baseline_for(target, src.path))
    path = target / "scripts/build_rag_index.py"
    st = path.stat()
    path.chmod(0)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    try:
        plan = _plan(src, target)
    finally:
        path.chmod(0o644)
    assert not plan.problems and plan.hashed == 0


def test_an_escaping_symlink_is_refused(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "check.sh").write_text("precious\n")
    victim = target / "scripts/pre-commit"
    for f in victim.iterdir():
        f.unlink()
    victim.rmdir()
    victim.symlink_to(outside)
    src.commit({"scripts/pre-commit/check.sh": b"#!/bin/sh\nexit 1\n"})
    plan = _plan(src, target)
    assert any("scripts/pre-commit/check.sh" in p and "outside" in p for p in plan.problems)
    assert "scripts/pre-commit/check.sh" not in {e.path for e in plan.entries}
    assert (outside / "check.sh").read_text() == "precious\n"


def test_a_read_only_file_that_must_change_is_a_problem(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    bl.save(target, baseline_for(target, src.path))
    (target / "scripts/build_rag_index.py").chmod(0o444)
    src.commit({"scripts/build_rag_index.py": b"INDEX = 3\n"})
    plan = _plan(src, target)
    assert plan.problems == ["scripts/build_rag_index.py: the file is read-only"]


def test_without_a_baseline_every_existing_file_is_an_add_add(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    plan = make_plan(target, SourceRepo(src.path), "HEAD", None)
    assert set(plan.counts()) == {"both-same"}
