"""Source clones as users make them: shallow, single-branch and blobless, before and after a
baseline is recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import tree_hash
from praxis_upgrade.content import baseline
from praxis_upgrade.demo import clone_source
from praxis_upgrade.engine import run as engine
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.store import Store


def is_shallow(path: Path) -> bool:
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--is-shallow-repository"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() == "true"


def test_a_shallow_clone_refuses_to_adopt_an_older_install_and_writes_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    shallow = clone_source(sandbox.source, tmp_path / "shallow", depth=1)
    before = tree_hash(target.praxis, skip=("venv",))

    out = cli("run", "--target", str(target.project), "--source", str(shallow.path), "--yes")

    assert out.returncode == 1, out.stdout + out.stderr
    assert (
        "shallow clone" in out.stderr
        and "v1.6.0" in out.stderr
        and "Nothing was written" in out.stderr
    )
    assert f"git -C {shallow.path} fetch --unshallow --tags" in out.stderr
    assert "--fetch-history" in out.stderr
    assert tree_hash(target.praxis, skip=("venv",)) == before
    assert not Store(target.praxis).baseline.exists()
    assert not Store(target.praxis).backups.exists()


def test_fetch_history_completes_a_shallow_clone_and_the_upgrade_starts_from_the_installed_version(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    shallow = clone_source(sandbox.source, tmp_path / "shallow", depth=1)

    out = cli(
        "run", "--target", str(target.project), "--source", str(shallow.path), "--yes",
        "--fetch-history", "--json",
    )  # fmt: skip

    assert out.returncode == 0, out.stdout + out.stderr
    plan = json.loads(out.stdout)["session"]["results"]["plan"]
    assert (plan["from_version"], plan["to_version"]) == ("v1.5.0", "v1.6.0")
    assert plan["adoption"]["complete_history"] is True
    assert not is_shallow(shallow.path)
    assert baseline.load(target.praxis).version == "v1.6.0"


def test_a_clone_deepened_by_fetch_history_is_read_whole_by_the_same_repo_object(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    shallow = clone_source(sandbox.source, tmp_path / "shallow", depth=1)
    repo = SourceRepo(shallow.path)  # one object for the whole run, shared by its steps
    assert repo.has_commit("HEAD") and not repo.has_commit("HEAD~1")  # its reader is running
    repo.fetch_history()
    assert repo.has_commit("HEAD~1") and repo.version("v1.5.0") == "v1.5.0"


def test_a_recorded_install_upgrades_from_a_later_shallow_clone_as_from_a_full_one(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    full, shallow_side = (
        sandbox.target(tmp_path / name, "v1.4.0", venv=True) for name in ("full", "shallow")
    )
    for t in (full, shallow_side):  # a baseline recorded with the full clone, at v1.5.0
        engine.run_upgrade(t.project, source_path=sandbox.source.path, rev="v1.5.0")
    shallow = clone_source(sandbox.source, tmp_path / "shallow-clone", depth=1)
    assert not SourceRepo(shallow.path).has_commit("v1.5.0")

    a = engine.run_upgrade(full.project, source_path=sandbox.source.path)
    b = engine.run_upgrade(shallow_side.project, source_path=shallow.path)

    assert a.results["plan"]["summary"] == b.results["plan"]["summary"]
    skip = ("venv", ".praxis-upgrade")  # the baselines name their source clones
    assert tree_hash(full.praxis, skip=skip) == tree_hash(shallow_side.praxis, skip=skip)


def test_single_branch_and_blobless_clones_adopt_the_installed_version(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0")
    plans = {}
    for name, kind in (
        ("full", {}),
        ("single", {"single_branch": True}),
        ("blobless", {"blobless": True}),
    ):
        source = sandbox.source.path if not kind else clone_source(
            sandbox.source, tmp_path / name, **kind
        ).path  # fmt: skip
        session = engine.run_upgrade(target.project, source_path=source, dry_run=True)
        plans[name] = session.results["plan"]
    assert SourceRepo(tmp_path / "blobless").history_gaps() == ["partial"]
    for plan in plans.values():
        assert plan["from_version"] == "v1.5.0"
        assert plan["conflicts"] == plans["full"]["conflicts"]
        assert plan["summary"] == plans["full"]["summary"]
        assert plan["adoption"]["matched"] == plans["full"]["adoption"]["matched"]
    assert SourceRepo(tmp_path / "single").history_gaps() == ["single-branch"]
    assert plans["single"]["adoption"]["complete_history"] is True  # every release is tagged
    assert plans["blobless"]["adoption"]["complete_history"] is True


def test_a_baseline_adopted_from_partial_history_is_adopted_again_from_the_full_history(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.4.0")
    repo = SourceRepo(sandbox.source.path)
    assert cli("adopt", "--target", str(target.project), "--source", str(repo.path)).returncode == 0
    # what an adoption from a clone that lacked v1.4.0 recorded: the nearest version it had
    path = Store(target.praxis).baseline
    data = json.loads(path.read_text())
    data.update(version="v1.5.0", commit=repo.resolve("v1.5.0"))
    data["adoption"]["complete_history"] = False
    path.write_text(json.dumps(data))

    events: list[dict] = []
    session = engine.run_upgrade(
        target.project, source_path=repo.path, dry_run=True, events=events.append
    )

    assert session.results["plan"]["from_version"] == "v1.4.0"
    said = [e.get("message", "") for e in events]
    assert any("re-adopted it as v1.4.0 (was v1.5.0)" in m for m in said), said


def test_a_shallow_clone_of_the_installed_release_adopts_an_untouched_install(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # depth 1 at v1.6.0 and an untouched v1.6.0 install: every file is exactly that version
    target = sandbox.target(tmp_path / "project", "v1.6.0", edits=False)
    shallow = clone_source(sandbox.source, tmp_path / "shallow", depth=1)
    session = engine.run_upgrade(target.project, source_path=shallow.path, dry_run=True)
    plan = session.results["plan"]
    assert plan["from_version"] == "v1.6.0"
    assert plan["adoption"]["matched"] == plan["adoption"]["managed"]
    assert plan["adoption"]["complete_history"] is False
