"""Whole upgrades on the sandbox with every built-in plugin: results, rollback, crash and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kits.clikit import cli as run_cli
from kits.fakeplugin import install_plugin_dist
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, outside_files, tree_hash, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.engine.steps import STEPS
from praxis_upgrade.errors import RolledBack
from praxis_upgrade.integrations import githook
from praxis_upgrade.plugin.manager import get_plugin_manager

PHASE_2_TO_4 = [
    "content",
    "server.stop",
    "server.code",
    "server.environment",
    "server.restart",
    "validation",
]
HOOK_OF = {s.name: s.hook for s in STEPS}


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


def fail_after(step: str) -> object:
    """A plugin that lets the default do its work for `step`, then fails: the worst moment."""
    hook = HOOK_OF[step]

    def wrapper(_self: object):  # type: ignore[no-untyped-def]
        yield
        raise RuntimeError(f"injected failure after {step}")

    return type("FailAfter", (), {hook: hookimpl(wrapper=True)(wrapper)})()


def freeze(praxis: Path) -> str:
    return subprocess.run(
        [str(praxis / "venv" / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_upgrade_applies_upstream_keeps_edits_and_user_files(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    user_before = {p: (target.praxis / p).read_bytes() for p in target.user_files}
    session = engine.run_upgrade(
        target.project, source_path=prepared.source.path, conflicts="keep-local"
    )
    assert session.status == "completed"
    for path, kind in target.user_edits.items():
        local = target.praxis / path
        if kind == "delete":
            assert not local.exists(), path  # a local deletion is respected
        else:
            assert local.exists(), path
    conflicts = session.results["plan"]["conflicts"]
    assert conflicts == [p for p, k in target.user_edits.items() if k == "edit-conflict"]
    for path in conflicts:
        assert (target.praxis / (path + ".praxis-upstream")).exists()
    assert {p: (target.praxis / p).read_bytes() for p in target.user_files} == user_before
    assert "fakedep==2.0" in freeze(target.praxis)
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "praxis_upgrade",
            "status",
            "--json",
            "--target",
            str(target.project),
        ],
        capture_output=True,
        text=True,
    )
    info = json.loads(status.stdout)
    assert info["installed_version"] == "v1.6.0"
    assert info["source"] == str(prepared.source.path)


@pytest.mark.parametrize("step", PHASE_2_TO_4)
def test_failure_after_each_step_of_phases_2_to_4_restores_the_install_exactly(
    prepared, tmp_path, step
):
    target = prepared.target(tmp_path / "project")
    before, outside, deps = (
        tree_hash(target.praxis),
        outside_files(target.project),
        freeze(target.praxis),
    )
    pm = get_plugin_manager(load_entrypoints=False, extra=[fail_after(step)])
    with pytest.raises(RolledBack, match=f"injected failure after {step}"):
        engine.run_upgrade(
            target.project, source_path=prepared.source.path, conflicts="keep-local", pm=pm
        )
    assert tree_hash(target.praxis) == before
    assert outside_files(target.project) == outside
    assert freeze(target.praxis) == deps
    (session,) = SessionStore(target.praxis).all()
    assert session.status == "rolled_back"
    assert session.results["rollback"]["complete"] is True
    assert UpgradeLock(target.praxis).holder() is None


def test_user_file_created_during_the_upgrade_survives_rollback(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    note = target.praxis / "standards" / "universal" / "testing" / "my-new-note.md"

    class WriteThenFail:
        @hookimpl(wrapper=True)
        def praxis_server_code(self):  # type: ignore[no-untyped-def]
            yield
            note.write_text("written by the user while the upgrade ran\n")
            raise RuntimeError("boom")

    pm = get_plugin_manager(load_entrypoints=False, extra=[WriteThenFail()])
    with pytest.raises(RolledBack):
        engine.run_upgrade(target.project, source_path=prepared.source.path, pm=pm)
    assert note.read_text() == "written by the user while the upgrade ran\n"


KILLER = """
import os
from praxis_upgrade import hookimpl

STEP = os.environ.get("KILL_AFTER")

@hookimpl(wrapper=True)
def praxis_content(ctx):
    result = yield
    if STEP == "content":
        os._exit(9)
    return result

@hookimpl(wrapper=True)
def praxis_rollback(ctx, error):
    if STEP == "rollback":
        os._exit(9)
    return (yield)

@hookimpl(wrapper=True)
def praxis_validate(ctx):
    result = yield
    if os.environ.get("FAIL_VALIDATION"):
        raise RuntimeError("validation made to fail")
    return result
"""


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


def test_kill_inside_the_content_step_then_resume_finishes(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    env = dict(os.environ, PYTHONPATH=str(install_plugin_dist(tmp_path / "site", "killer", KILLER)))
    killed = cli(
        dict(env, KILL_AFTER="content"),
        "run",
        "--target",
        str(target.project),
        "--source",
        str(prepared.source.path),
    )
    assert killed.returncode == 9, killed.stderr
    (session,) = SessionStore(target.praxis).all()
    assert session.status == "running" and session.step == "content"
    resumed = cli(env, "resume", "--target", str(target.project), "--json")
    assert resumed.returncode == 0, resumed.stderr
    done = json.loads(resumed.stdout)["session"]
    assert done["status"] == "completed"
    # the re-run of the interrupted step recognised every file it had already written
    assert all(
        d["result"] in ("already-applied", "kept", "kept-local")
        or d["decision"] == "resume"
        or d["result"].startswith("kept")
        for d in done["results"]["content"]["decisions"]
        if d["action"] not in ("none",)
    ), done["results"]["content"]["decisions"][:5]
    fresh = prepared.target(tmp_path / "fresh")
    engine.run_upgrade(fresh.project, source_path=prepared.source.path)
    # the same result as an upgrade that was never interrupted (venvs hold their own paths)
    skip = ("venv", ".praxis-upgrade")  # venvs hold their own paths; baselines their own times
    assert tree_hash(target.praxis, skip=skip) == tree_hash(fresh.praxis, skip=skip)
    shas = [
        {
            p: r[0]
            for p, r in json.loads((t / ".praxis-upgrade" / "baseline.json").read_text())[
                "files"
            ].items()
        }
        for t in (target.praxis, fresh.praxis)
    ]
    assert shas[0] == shas[1]


def test_kill_during_rollback_then_rollback_again_completes(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    before = tree_hash(target.praxis)
    env = dict(os.environ, PYTHONPATH=str(install_plugin_dist(tmp_path / "site", "killer", KILLER)))
    killed = cli(
        dict(env, KILL_AFTER="rollback", FAIL_VALIDATION="1"),
        "run",
        "--target",
        str(target.project),
        "--source",
        str(prepared.source.path),
    )
    assert killed.returncode == 9, killed.stderr
    status = json.loads(cli(env, "status", "--json", "--target", str(target.project)).stdout)
    assert status["sessions"][0]["state"] == "interrupted"
    again = cli(env, "rollback", "--target", str(target.project), "--json")
    assert again.returncode == 0, again.stderr
    assert tree_hash(target.praxis) == before
    (session,) = SessionStore(target.praxis).all()
    assert session.status == "rolled_back"


def test_manual_rollback_after_a_completed_upgrade_goes_back_one_version(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    before, deps = upgrade_state(target.praxis, skip=("venv",)), freeze(target.praxis)
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    assert upgrade_state(target.praxis, skip=("venv",)) != before
    out = cli(dict(os.environ), "rollback", "--target", str(target.project))
    assert out.returncode == 0, out.stderr
    assert upgrade_state(target.praxis, skip=("venv",)) == before
    assert freeze(target.praxis) == deps  # the old venv was rebuilt from the old requirements


def test_second_run_on_a_current_install_changes_nothing(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    after_first = tree_hash(target.praxis)
    session = engine.run_upgrade(target.project)  # source remembered
    assert session.status == "completed"
    plan = session.results["plan"]
    assert plan["touched"] == [] or set(plan["summary"]) <= {
        "unchanged",
        "local-changed",
        "locally-deleted",
        "conflict",
        "both-same",
    }
    assert tree_hash(target.praxis) == after_first


def test_a_refused_rollback_leaves_the_session_open_for_a_real_one(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    before = tree_hash(target.praxis)
    env = dict(os.environ, PYTHONPATH=str(install_plugin_dist(tmp_path / "site", "killer", KILLER)))
    cli(
        dict(env, KILL_AFTER="content"),
        "run",
        "--target",
        str(target.project),
        "--source",
        str(prepared.source.path),
    )
    typo = cli(env, "rollback", "--to", "2020-01-01-000000", "--target", str(target.project))
    assert typo.returncode == 1 and "hint:" in typo.stderr
    (session,) = SessionStore(target.praxis).all()
    assert session.status == "running"  # still interrupted, still resumable or undoable
    assert cli(env, "rollback", "--target", str(target.project)).returncode == 0
    assert tree_hash(target.praxis) == before


def test_rolling_back_past_a_newer_upgrade_is_refused(prepared, tmp_path):
    target = prepared.target(tmp_path / "project", version="v1.4.0")
    first = engine.run_upgrade(target.project, source_path=prepared.source.path, rev="v1.5.0")
    second = engine.run_upgrade(target.project)
    out = cli(dict(os.environ), "rollback", first.id, "--target", str(target.project))
    assert out.returncode == 1
    assert f"praxis-upgrade rollback {second.id}" in out.stderr
    assert (
        cli(dict(os.environ), "rollback", second.id, "--target", str(target.project)).returncode
        == 0
    )
    assert (
        cli(dict(os.environ), "rollback", first.id, "--target", str(target.project)).returncode == 0
    )
    status = json.loads(
        cli(dict(os.environ), "status", "--json", "--target", str(target.project)).stdout
    )
    assert status["installed_version"] == "v1.4.0" or status["installed_version"] is None


CTRL_C = """
import signal
from praxis_upgrade import hookimpl

@hookimpl(wrapper=True)
def praxis_content(ctx):
    result = yield
    signal.raise_signal(signal.SIGINT)  # Ctrl-C right after the content step did its work
    return result
"""


def test_a_session_resumed_after_ctrl_c_completes_without_the_interruption_as_its_error(
    prepared, tmp_path
):
    target = prepared.target(tmp_path / "project")
    project = str(target.project)
    site = install_plugin_dist(tmp_path / "site", "ctrlc", CTRL_C)
    interrupted = cli(
        dict(os.environ, PYTHONPATH=str(site)),
        "run",
        "--target",
        project,
        "--source",
        str(prepared.source.path),
    )
    assert interrupted.returncode == 130, interrupted.stderr
    (session,) = SessionStore(target.praxis).all()
    assert (session.status, session.error) == ("running", "interrupted")

    resumed = cli(dict(os.environ), "resume", "--target", project, "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["session"]["error"] is None
    status = json.loads(cli(dict(os.environ), "status", "--json", "--target", project).stdout)
    assert [(s["state"], s["error"]) for s in status["sessions"]] == [("completed", None)]
    (session,) = SessionStore(target.praxis).all()
    assert (session.status, session.error) == ("completed", None)
    (report,) = session.results["reports"][:1]
    assert "## Error" not in Path(report).read_text()


def test_a_downgrade_through_rev_is_refused_without_yes_and_done_with_it(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    project, source = str(target.project), str(prepared.source.path)
    assert cli(dict(os.environ), "run", "--target", project, "--source", source).returncode == 0
    upgraded = tree_hash(target.praxis)
    sessions = len(SessionStore(target.praxis).all())

    refused = cli(dict(os.environ), "run", "--target", project, "--rev", "v1.5.0")

    assert refused.returncode == 1, refused.stderr
    assert "downgrade" in refused.stderr and "v1.6.0" in refused.stderr
    assert "hint:" in refused.stderr and "--yes" in refused.stderr
    assert tree_hash(target.praxis) == upgraded
    assert len(SessionStore(target.praxis).all()) == sessions  # no session, no backup
    planned = cli(dict(os.environ), "plan", "--target", project, "--rev", "v1.5.0")
    assert planned.returncode == 0, planned.stderr
    assert "Plan: v1.6.0 -> v1.5.0 (a downgrade)" in planned.stdout
    # unattended runs (the git hook's auto mode, the MCP tools) pass --yes but never downgrade
    unattended = cli(
        dict(os.environ), "run", "--target", project, "--rev", "v1.5.0", "--yes", "--no-downgrade"
    )
    assert unattended.returncode == 1 and "downgrade" in unattended.stderr
    assert tree_hash(target.praxis) == upgraded
    assert "--no-downgrade" in githook.auto_command(project, prepared.source.path)

    done = cli(dict(os.environ), "run", "--target", project, "--rev", "v1.5.0", "--yes", "--json")

    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["session"]["results"]["plan"]
    assert (plan["from_version"], plan["to_version"], plan["downgrade"]) == (
        "v1.6.0",
        "v1.5.0",
        True,
    )
    forward = cli(dict(os.environ), "run", "--target", project, "--json")  # an upgrade again
    assert forward.returncode == 0, forward.stderr
    assert json.loads(forward.stdout)["session"]["results"]["plan"]["downgrade"] is False
