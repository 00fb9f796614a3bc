"""Adoption of installs without a baseline, from the source's history."""

from __future__ import annotations

from pathlib import Path

import pytest

from kits.contentkit import Source, baseline_for, install, make_source
from kits.sandboxkit import Sandbox
from praxis_upgrade import demo
from praxis_upgrade.content import adopt, baseline
from praxis_upgrade.content.plan import make_plan
from praxis_upgrade.content.vocab import Klass
from praxis_upgrade.source.repo import SourceRepo

PYRAMID = "universal/standards/testing/pyramid.md"


def _history(tmp_path: Path) -> Source:
    src = make_source(tmp_path)
    src.commit(
        {PYRAMID: b"# Test pyramid v1.1\n", "universal/workflows/new_wf/metadata.json": b"{}\n"},
        tag="v1.1.0",
    )
    src.commit(
        {"mcp_server/server/tools/rag_tools.py": b"def search_standards():\n    return [1]\n"}
    )
    src.commit(
        {
            "universal/standards/ai-assistant/guide.md": None,
            "universal/standards/ai-assistant/guide-renamed.md": b"# Guide\n",
        },
        tag="v1.2.0",
    )
    src.commit({PYRAMID: b"# Test pyramid v1.3\n"}, tag="v1.3.0")
    return src


@pytest.mark.parametrize("tag", ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"])
def test_an_untouched_install_of_any_tag_adopts_with_nothing_modified(
    tmp_path: Path, tag: str
) -> None:
    src = _history(tmp_path)
    target = install(tmp_path / "project", src.path, tag)
    repo = SourceRepo(src.path)
    record = adopt.adopt(target, repo)
    assert record.commit == repo.resolve(tag)
    assert record.version == tag and record.adopted_from is not None and tag in record.adopted_from
    assert baseline.modified(record) == [] and baseline.missing(record) == []
    assert set(record.files) == set(repo.tree(tag))


def test_an_untagged_install_adopts_its_exact_commit(tmp_path: Path) -> None:
    src = _history(tmp_path)
    mid = src.repo.commit("v1.2.0").parents[0].hexsha
    target = install(tmp_path / "project", src.path, mid)
    record = adopt.adopt(target, SourceRepo(src.path))
    assert record.commit == mid and baseline.modified(record) == []


def test_user_edits_show_as_modified_with_the_base_from_the_matched_commit(tmp_path: Path) -> None:
    src = _history(tmp_path)
    target = install(tmp_path / "project", src.path, "v1.1.0")
    (target / "standards/universal/testing/pyramid.md").write_text("# my own pyramid\n")
    (target / "scripts/build_rag_index.py").unlink()
    record = adopt.adopt(target, SourceRepo(src.path))
    assert record.version == "v1.1.0"
    assert baseline.modified(record) == ["standards/universal/testing/pyramid.md"]
    assert baseline.missing(record) == ["scripts/build_rag_index.py"]
    base = record.files["standards/universal/testing/pyramid.md"]
    assert SourceRepo(src.path).blob(base.git_blob) == b"# Test pyramid v1.1\n"


def test_user_files_in_upstream_areas_are_not_adopted(tmp_path: Path) -> None:
    src = _history(tmp_path)
    target = install(tmp_path / "project", src.path, "v1.3.0")
    (target / "workflows/my_workflow_v1").mkdir()
    (target / "workflows/my_workflow_v1/metadata.json").write_text("{}\n")
    (target / "standards/development").mkdir()
    (target / "standards/development/python.md").write_text("mine\n")
    record = adopt.adopt(target, SourceRepo(src.path))
    assert "workflows/my_workflow_v1/metadata.json" not in record.files
    assert not any(p.startswith("standards/development") for p in record.files)
    assert baseline.modified(record) == []


def test_files_left_over_from_an_older_version_count_as_unmodified_upstream_files(
    tmp_path: Path,
) -> None:
    src = _history(tmp_path)
    target = install(tmp_path / "project", src.path, "v1.1.0")
    stale = (target / "standards/universal/ai-assistant/guide.md").read_bytes()
    target2 = install(tmp_path / "p2", src.path, "v1.3.0")
    (target2 / "standards/universal/ai-assistant/guide.md").write_bytes(
        stale
    )  # copytree never deletes
    record = adopt.adopt(target2, SourceRepo(src.path))
    assert record.version == "v1.3.0"
    assert "standards/universal/ai-assistant/guide.md" in record.files
    assert baseline.modified(record) == []


def test_a_file_matching_an_other_version_counts_as_unmodified_at_that_version(
    tmp_path: Path,
) -> None:
    src = _history(tmp_path)
    target = install(tmp_path / "project", src.path, "v1.3.0")
    (target / "standards/universal/testing/pyramid.md").write_bytes(b"# Test pyramid v1.1\n")
    (target / "workflows/new_wf/metadata.json").write_bytes(b"my own edit\n")
    record = adopt.adopt(target, SourceRepo(src.path))
    assert record.version == "v1.2.0"  # the closest commit: pyramid as in v1.1/v1.2
    (target / "standards/universal/testing/pyramid.md").write_bytes(b"# Test pyramid v1.3\n")
    (target / "mcp_server/server/tools/rag_tools.py").write_bytes(
        b"def search_standards():\n    return []\n"
    )
    record = adopt.adopt(target, SourceRepo(src.path))
    assert record.version == "v1.3.0"
    assert baseline.modified(record) == ["workflows/new_wf/metadata.json"]
    (target / "standards/universal/testing/pyramid.md").write_bytes(b"# Test pyramid v1.1\n")
    (target / "workflows/new_wf/metadata.json").write_bytes(b"{}\n")
    record = adopt.adopt(target, SourceRepo(src.path))
    assert record.version == "v1.2.0"  # one file differs from v1.2.0, two from v1.3.0
    assert baseline.modified(record) == []
    assert (
        record.files["standards/universal/testing/pyramid.md"].sha256
        == baseline.hash_bytes(b"# Test pyramid v1.1\n")[0]
    )


# -- over the sandbox's realistic releases -------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox_source(sandbox: Sandbox) -> demo.Source:
    return sandbox.source  # demo.make_source(<dir>/praxis-os), built once per session


@pytest.mark.parametrize("edits", [False, True], ids=["untouched", "edited"])
@pytest.mark.parametrize("tag", demo.TAGS)
def test_sandbox_installs_of_every_tag_adopt_exactly_their_tag_and_user_edits(
    sandbox: Sandbox, sandbox_source: demo.Source, tmp_path: Path, tag: str, edits: bool
) -> None:
    target = sandbox.target(
        tmp_path / "project", tag, edits=edits
    )  # a copy of demo.make_target(...)
    repo = SourceRepo(sandbox_source.path)
    record = adopt.adopt(target.praxis, repo)
    assert record.commit == repo.resolve(tag) and record.version == tag
    assert set(baseline.modified(record)) == {
        p for p, k in target.user_edits.items() if k != "delete"
    }
    assert set(baseline.missing(record)) == {
        p for p, k in target.user_edits.items() if k == "delete"
    }
    assert not set(record.files) & set(target.user_files)


GUIDE = "universal/standards/ai-assistant/guide.md"
INSTALLED_GUIDE = "standards/universal/ai-assistant/guide.md"


def test_a_tie_between_releases_goes_to_the_one_whose_files_are_closest_to_yours(
    tmp_path: Path,
) -> None:
    # v1.0.0 -> v1.1.0 changes only the guide; HEAD changes something else. You edited the
    # guide of v1.0.0, so v1.0.0 and v1.1.0 explain every other file equally well.
    src = make_source(tmp_path)
    v10 = src.read(GUIDE)
    v11 = v10.replace(b"line 3\n", b"line 3 (rewritten in v1.1.0 with a longer explanation)\n")
    src.commit({GUIDE: v11}, tag="v1.1.0", msg="v1.1.0")
    pyramid = "universal/standards/testing/pyramid.md"
    src.commit({pyramid: src.read(pyramid) + b"contract tests\n"}, tag="v1.2.0", msg="v1.2.0")
    target = install(tmp_path / "project", src.path, "v1.0.0")
    (target / INSTALLED_GUIDE).write_bytes(v10.replace(b"line 15\n", b"line 15, my note\n"))

    record = baseline_for(target, src.path)
    assert record.version == "v1.0.0"
    plan = make_plan(target, SourceRepo(src.path), "HEAD", record)
    guide = next(e for e in plan.entries if e.path == INSTALLED_GUIDE)
    # upstream's v1.1.0 change meets your edit: merged, not silently dropped as "yours"
    assert guide.klass in (Klass.BOTH_CHANGED, Klass.CONFLICT)


def test_a_file_no_release_can_be_told_from_is_planned_as_a_conflict_with_the_reason(
    tmp_path: Path,
) -> None:
    src = make_source(tmp_path)
    v11 = src.read(GUIDE).replace(b"line 3\n", b"line 3, rewritten in v1.1.0\n")
    src.commit({GUIDE: v11}, tag="v1.1.0", msg="v1.1.0")
    pyramid = "universal/standards/testing/pyramid.md"
    src.commit({pyramid: src.read(pyramid) + b"contract tests\n"}, tag="v1.2.0", msg="v1.2.0")
    target = install(tmp_path / "project", src.path, "v1.0.0")
    (target / INSTALLED_GUIDE).write_bytes(b"")  # rewritten from scratch: near neither release

    record = baseline_for(target, src.path)
    assert record.adoption is not None and record.adoption["undecided"] == [INSTALLED_GUIDE]
    plan = make_plan(target, SourceRepo(src.path), "HEAD", record)
    guide = next(e for e in plan.entries if e.path == INSTALLED_GUIDE)
    assert guide.klass == Klass.CONFLICT and guide.is_conflict
    assert guide.reason is not None and "could not tell" in guide.reason
