"""Runs with nothing to do leave no trace, and every real upgrade is a generation to go back to."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kits.clikit import cli, freeze
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, tree_hash, upgrade_state
from praxis_upgrade.backups.catalog import list_backups
from praxis_upgrade.engine import registry
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.store import Store


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


def without_settings(tree: dict[str, str]) -> dict[str, str]:
    """The remembered source is a setting, not upgrade state: it stays through a rollback."""
    return {p: h for p, h in tree.items() if not p.startswith(".praxis-upgrade/settings.json")}


def traces(praxis: Path) -> tuple[list[str], list[str], str, list[str]]:
    """Backups, session files, the update log and the reports of an install."""
    store = Store(praxis)
    log = store.update_log.read_text() if store.update_log.exists() else ""
    sessions = sorted(p.name for p in store.sessions.glob("*.json"))
    reports = sorted(p.name for p in store.cache.glob("upgrade-*"))
    return [b.id for b in list_backups(praxis)], sessions, log, reports


def test_a_run_with_nothing_to_do_is_already_up_to_date_and_leaves_no_trace(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    before, tree = traces(target.praxis), tree_hash(target.praxis)

    again = cli("run", "--target", str(target.project), "--json")
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["ok"] and answer["up_to_date"] is True
    assert answer["session"]["results"]["plan"]["up_to_date"] is True
    human = cli("run", "--target", str(target.project))
    assert human.returncode == 0 and "already up to date" in human.stdout.lower()

    assert traces(target.praxis) == before  # no backup, no session, no log line, no report
    assert tree_hash(target.praxis) == tree


def test_history_lists_generations_and_rollback_walks_back_through_them(prepared, tmp_path):
    target = prepared.target(tmp_path / "project", "v1.3.0")
    project, source = target.project, prepared.source.path
    # the venv is compared by its package set: a rebuilt venv has the same packages, not bytes
    v13_tree, v13_deps = upgrade_state(target.praxis, skip=("venv",)), freeze(target.praxis)
    for rev in ("v1.4.0", "v1.5.0", None):
        engine.run_upgrade(project, source_path=source, rev=rev)
    v16_tree = tree_hash(target.praxis)

    for _ in range(5):  # the README's "next time: praxis-upgrade run", the hook in auto mode, ...
        assert cli("run", "--target", str(project), "--yes").returncode == 0
    registry.register(project, source)
    for _ in range(2):
        out = cli("run", "--all", "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        assert json.loads(out.stdout)["projects"][0]["result"] == "up to date"
    assert tree_hash(target.praxis) == v16_tree

    listed = cli("history", "--target", str(project), "--json")
    assert listed.returncode == 0, listed.stderr
    generations = json.loads(listed.stdout)["generations"]
    assert [(g["from_version"], g["to_version"]) for g in generations] == [
        ("v1.5.0", "v1.6.0"),
        ("v1.4.0", "v1.5.0"),
        ("v1.3.0", "v1.4.0"),
    ]
    assert all(g["outcome"] == "completed" and g["backup_kept"] for g in generations)

    for expected in ("v1.5.0", "v1.4.0", "v1.3.0"):
        back = cli("rollback", "--target", str(project), "--json")
        assert back.returncode == 0, back.stdout + back.stderr
        assert json.loads(back.stdout)["version"] == expected
    assert upgrade_state(target.praxis, skip=("venv",)) == v13_tree
    assert freeze(target.praxis) == v13_deps


def test_rollback_to_a_version_walks_back_through_the_newer_generations(prepared, tmp_path):
    target = prepared.target(tmp_path / "project", "v1.4.0")
    project, source = target.project, prepared.source.path
    v14_tree, v14_deps = upgrade_state(target.praxis, skip=("venv",)), freeze(target.praxis)
    for rev in ("v1.5.0", None):
        engine.run_upgrade(project, source_path=source, rev=rev)

    back = cli("rollback", "--to-version", "v1.4.0", "--target", str(project), "--json")
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads(back.stdout)["version"] == "v1.4.0"
    assert upgrade_state(target.praxis, skip=("venv",)) == v14_tree
    assert freeze(target.praxis) == v14_deps
    history = json.loads(cli("history", "--target", str(project), "--json").stdout)
    assert [g["outcome"] for g in history["generations"]] == ["rolled_back", "rolled_back"]

    unknown = cli("rollback", "--to-version", "v9.9.9", "--target", str(project))
    assert unknown.returncode == 1 and "hint:" in unknown.stderr


def test_retention_counts_generations_not_runs(prepared, tmp_path):
    target = prepared.target(tmp_path / "project", "v1.3.0")
    project, source = target.project, prepared.source.path
    for rev in ("v1.4.0", "v1.5.0", None):
        engine.run_upgrade(project, source_path=source, rev=rev, keep_backups=2)
    for _ in range(3):
        engine.run_upgrade(project, source_path=source, keep_backups=2)  # nothing to do
    kept = list_backups(target.praxis)
    assert [(b.from_version, b.to_version) for b in kept] == [
        ("v1.5.0", "v1.6.0"),
        ("v1.4.0", "v1.5.0"),
    ]
    assert SessionStore(target.praxis).open_sessions() == []


def test_a_way_back_through_a_pruned_backup_is_refused_before_anything_is_rolled_back(
    prepared, tmp_path
):
    target = prepared.target(tmp_path / "project", "v1.3.0")
    project, source = target.project, prepared.source.path
    for rev in ("v1.4.0", "v1.5.0", None):
        engine.run_upgrade(project, source_path=source, rev=rev, keep_backups=1)
    tree = tree_hash(target.praxis, skip=("venv",))

    refused = cli("rollback", "--to-version", "v1.3.0", "--target", str(project))

    assert refused.returncode == 1 and "hint:" in refused.stderr
    assert "v1.5.0" in refused.stderr and "v1.3.0, " not in refused.stderr  # reachable only
    assert tree_hash(target.praxis, skip=("venv",)) == tree  # nothing was rolled back


def test_a_run_with_nothing_to_do_still_reports_conflict_markers_left_in_files(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    source = str(prepared.source.path)
    merged = cli(
        "run", "--target", str(target.project), "--source", source, "--conflicts", "merge", "--yes"
    )
    assert merged.returncode == 3, merged.stdout + merged.stderr
    marked = [line.split(":")[0] for line in merged.stdout.splitlines() if ": conflict:" in line]
    assert marked

    again = cli("run", "--target", str(target.project), "--yes")
    assert again.returncode == 3, again.stdout + again.stderr
    assert "already up to date" in again.stdout.lower()
    assert all(f"{path}:1: conflict: conflict markers left" in again.stdout for path in marked)

    for path in marked:  # the user resolves them
        (target.project / path).write_text("resolved by hand\n")
    assert cli("run", "--target", str(target.project), "--yes").returncode == 0


def test_a_run_after_the_venv_was_broken_by_hand_repairs_it_instead_of_saying_up_to_date(
    prepared, tmp_path
):
    target = prepared.target(tmp_path / "project")
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    python = str(target.praxis / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "fakedep"], check=True)
    assert "fakedep" not in freeze(target.praxis)

    again = cli("run", "--target", str(target.project), "--json")

    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["up_to_date"] is False
    assert answer["session"]["results"]["server.environment"]["changed"] is True
    assert "fakedep==2.0" in freeze(target.praxis)
