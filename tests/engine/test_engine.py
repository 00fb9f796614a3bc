"""The engine: phase order, state saved after every step, rollback on failure, resume, lock."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time

import pytest

from kits.fakeplugin import DISABLED, calls, install_plugin_dist, make_fake_install, subprocess_env
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.engine.steps import STEPS
from praxis_upgrade.errors import LockedError, RolledBack, StateError, UserError
from praxis_upgrade.plugin.manager import get_plugin_manager

STEP_NAMES = [s.name for s in STEPS if s.name != "preflight"]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    site = install_plugin_dist(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    module = importlib.import_module("fakeplugin")
    importlib.reload(module)
    project, source = make_fake_install(tmp_path)
    pm = get_plugin_manager(load_entrypoints=False, disabled=DISABLED, extra=[module])
    return project, source, pm, site


def test_steps_run_in_phase_order_and_state_is_saved_before_each(fake):
    project, source, pm, _ = fake
    session = engine.run_upgrade(project, source_path=source, pm=pm)
    assert session.status == "completed"
    log = calls(project)
    assert [c["step"] for c in log] == STEP_NAMES
    # when each step ran, the file on disk already held every step before it
    for i, call in enumerate(log):
        expected_before = ["preflight"] + STEP_NAMES[:i] if i else None
        if i == 0:
            assert call["saved"] is None or call["saved"] == ["preflight"]
        else:
            assert call["saved"] == expected_before
    saved = json.loads(SessionStore(project / ".praxis-os").path(session.id).read_text())
    assert saved["status"] == "completed"
    assert saved["completed_steps"] == ["preflight"] + STEP_NAMES
    assert set(saved["timings"]) == {"preflight", *STEP_NAMES}


@pytest.mark.parametrize("step", ["content", "server.code", "server.environment", "validation"])
def test_failure_in_phases_2_to_4_rolls_back(fake, monkeypatch, step):
    project, source, pm, _ = fake
    monkeypatch.setenv("FAKEPLUGIN_FAIL_AT", step)
    with pytest.raises(RolledBack, match=f"injected failure at {step}"):
        engine.run_upgrade(project, source_path=source, pm=pm)
    std = project / ".praxis-os" / "standards"
    assert (std / "a.md").read_text() == "original a\n"
    assert (std / "b.md").read_text() == "original b\n"
    assert calls(project)[-1]["step"] == "rollback"
    (session,) = SessionStore(project / ".praxis-os").all()
    assert session.status == "rolled_back"
    assert UpgradeLock(project / ".praxis-os").holder() is None


def test_failure_before_phase_2_does_not_roll_back(fake, monkeypatch):
    project, source, pm, _ = fake
    monkeypatch.setenv("FAKEPLUGIN_FAIL_AT", "backup")
    with pytest.raises(Exception, match="injected failure at backup"):
        engine.run_upgrade(project, source_path=source, pm=pm)
    assert "rollback" not in [c["step"] for c in calls(project)]
    (session,) = SessionStore(project / ".praxis-os").all()
    assert session.status == "failed"


def test_dry_run_stops_after_the_plan_and_writes_nothing(fake):
    project, source, pm, _ = fake
    before = sorted(p for p in (project / ".praxis-os").rglob("*"))
    session = engine.run_upgrade(project, source_path=source, pm=pm, dry_run=True)
    assert session.results["plan"]["summary"] == {"update": 1}
    after = sorted(p for p in (project / ".praxis-os").rglob("*") if p.name != "calls.log")
    assert after == before


def test_killed_process_is_resumed_by_a_new_process(fake):
    project, source, _, site = fake
    cmd = [sys.executable, "-m", "praxis_upgrade"]
    killed = subprocess.run(
        [*cmd, "run", "--source", str(source), "--target", str(project)],
        env=subprocess_env(site, FAKEPLUGIN_EXIT_AT="server.code"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert killed.returncode == 9
    status = subprocess.run(
        [*cmd, "status", "--json", "--target", str(project)],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
    )
    info = json.loads(status.stdout)
    assert info["lock"] is None
    assert len(info["interrupted"]) == 1
    # a new run refuses while a session is interrupted
    again = subprocess.run(
        [*cmd, "run", "--source", str(source), "--target", str(project)],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1
    assert "resume" in again.stderr and "rollback" in again.stderr
    resumed = subprocess.run(
        [*cmd, "resume", "--target", str(project), "--json"],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["session"]["status"] == "completed"
    log = calls(project)
    first_pid = log[0]["pid"]
    done_before_kill = [c["step"] for c in log if c["pid"] == first_pid]
    done_after = [c["step"] for c in log if c["pid"] != first_pid]
    assert done_before_kill == STEP_NAMES[: STEP_NAMES.index("server.code") + 1]
    # the interrupted step runs again (steps are idempotent), earlier ones do not
    assert done_after == STEP_NAMES[STEP_NAMES.index("server.code") :]
    assert (project / ".praxis-os" / "standards" / "b.md").read_text() == "upgraded b\n"


def test_second_process_is_refused_while_the_lock_is_held(fake):
    project, source, pm, _ = fake
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from praxis_upgrade.engine.lock import UpgradeLock;"
            "l = UpgradeLock(Path(sys.argv[1])); l.acquire('20260101-000000-abcdef'); "
            "print('held', flush=True);"
            "sys.stdin.read()",
            str(project / ".praxis-os"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError) as err:
            engine.run_upgrade(project, source_path=source, pm=pm)
        assert f"pid {holder.pid}" in err.value.message
        assert "20260101-000000-abcdef" in err.value.message
    finally:
        holder.kill()
        holder.wait()
    # the OS dropped the lock with its dead holder: the next run goes through
    assert engine.run_upgrade(project, source_path=source, pm=pm).status == "completed"


def test_rollback_of_an_interrupted_session(fake):
    project, source, pm, site = fake
    cmd = [sys.executable, "-m", "praxis_upgrade"]
    subprocess.run(
        [*cmd, "run", "--source", str(source), "--target", str(project)],
        env=subprocess_env(site, FAKEPLUGIN_EXIT_AT="server.restart"),
        capture_output=True,
    )
    session = engine.rollback_upgrade(project, pm=pm)
    assert session.status == "rolled_back"
    assert (project / ".praxis-os" / "standards" / "a.md").read_text() == "original a\n"
    with pytest.raises(StateError):
        engine.resume_upgrade(project, session.id, pm=pm)


def test_unknown_and_corrupt_sessions_are_clear_errors(fake):
    project, _, pm, _ = fake
    with pytest.raises(StateError, match="no session"):
        engine.resume_upgrade(project, "20990101-000000-abcdef", pm=pm)
    with pytest.raises(StateError, match="not a session id"):
        engine.resume_upgrade(project, "../../etc/passwd", pm=pm)
    store = SessionStore(project / ".praxis-os")
    store.dir.mkdir(parents=True)
    (store.dir / "20990101-000000-abcdef.json").write_text("{not json")
    from praxis_upgrade.engine.status import get_status

    shown = get_status(project)  # status still answers, and names the bad file
    assert shown["corrupt_sessions"][0]["path"].endswith("20990101-000000-abcdef.json")
    with pytest.raises(StateError, match="corrupt"):  # ... which the next command moves aside
        engine.resume_upgrade(project, "20990101-000000-abcdef", pm=pm)
    assert store.quarantined() == ["20990101-000000-abcdef"]


def test_not_an_install_and_missing_source_are_user_errors(fake, tmp_path):
    project, source, pm, _ = fake
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no .praxis-os install"):
        engine.run_upgrade(empty, source_path=source, pm=pm)
    with pytest.raises(UserError, match="does not exist"):
        engine.run_upgrade(project, source_path=tmp_path / "nope", pm=pm)
    with pytest.raises(UserError, match="not a praxis-os source"):
        engine.run_upgrade(project, source_path=empty, pm=pm)
    with pytest.raises(UserError, match="no source given"):
        engine.run_upgrade(project, pm=pm)
    assert not (project / ".praxis-os" / ".cache").exists()


def test_paths_with_a_tilde_are_expanded(fake, monkeypatch):
    project, source, pm, _ = fake
    monkeypatch.setenv("HOME", str(project.parent))
    session = engine.run_upgrade("~/project", source_path="~/source", pm=pm)
    assert session.status == "completed"


def test_session_timing_is_recorded_per_step(fake):
    project, source, pm, _ = fake
    t0 = time.monotonic()
    session = engine.run_upgrade(project, source_path=source, pm=pm)
    assert 0 <= sum(session.timings.values()) <= time.monotonic() - t0
