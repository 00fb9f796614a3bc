"""Finding, stopping and restarting this project's server by its verified pid, never by pattern."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kits.sandboxkit import Sandbox
from praxis_upgrade.demo import Target, start_server
from praxis_upgrade.server import lifecycle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pid verification reads /proc"),
]


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Pids this test started; each still alive at the end is killed (by that pid)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _project(tmp_path: Path, sandbox: Sandbox, name: str) -> Target:
    """A copy of make_target(<name>, <sandbox source>, version="v1.6.0", edits=False)."""
    return sandbox.target(tmp_path / name, "v1.6.0", edits=False)


def _wait_state(target: Path, pid: int, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            state = json.loads((target / lifecycle.STATE_FILE).read_text())
            if state.get("pid") == pid:
                return state
        time.sleep(0.05)
    raise AssertionError(f"no state file for pid {pid}")


def _serve(
    target: Target, started: list[int], transport: str = "http", **env: str
) -> subprocess.Popen[bytes]:
    proc = start_server(target, transport=transport, env=env)
    started.append(proc.pid)
    _wait_state(target.praxis, proc.pid)
    return proc


def test_stopping_project_a_leaves_project_b_running(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a, b = _project(tmp_path, sandbox, "a"), _project(tmp_path, sandbox, "b")
    server_a, server_b = _serve(a, started), _serve(b, started)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess) and found.pid == server_a.pid
    outcome = lifecycle.stop_server(found)
    assert outcome.stopped and outcome.signals == ["SIGTERM"]
    assert server_a.wait(timeout=5) is not None
    assert lifecycle.alive(server_b.pid)
    assert isinstance(lifecycle.find_server(b.praxis), lifecycle.ServerProcess)


def test_a_state_file_naming_a_foreign_process_is_left_alone(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    sleeper = subprocess.Popen(["sleep", "60"])
    started.append(sleeper.pid)
    while b"sleep" not in Path(f"/proc/{sleeper.pid}/cmdline").read_bytes():
        time.sleep(0.01)  # until exec has happened
    (a.praxis / lifecycle.STATE_FILE).write_text(
        json.dumps({"pid": sleeper.pid, "transport": "stdio"})
    )
    found = lifecycle.find_server(a.praxis)
    assert (
        isinstance(found, lifecycle.Foreign)
        and found.kind == "foreign"
        and "sleep" in found.message
    )
    assert lifecycle.alive(sleeper.pid)


def test_another_projects_server_in_our_state_file_is_not_ours(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a, b = _project(tmp_path, sandbox, "a"), _project(tmp_path, sandbox, "b")
    server_b = _serve(b, started)
    (a.praxis / lifecycle.STATE_FILE).write_text((b.praxis / lifecycle.STATE_FILE).read_text())
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.Foreign) and found.kind == "foreign"
    assert lifecycle.alive(server_b.pid)


def test_a_dead_pid_is_reported_stale_and_the_file_kept(tmp_path: Path, sandbox: Sandbox) -> None:
    a = _project(tmp_path, sandbox, "a")
    gone = subprocess.Popen(["true"])
    gone.wait()
    state = json.dumps({"pid": gone.pid, "transport": "http"})
    (a.praxis / lifecycle.STATE_FILE).write_text(state)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.Foreign) and found.kind == "stale"
    assert (a.praxis / lifecycle.STATE_FILE).read_text() == state


def test_no_state_file_means_no_server(tmp_path: Path, sandbox: Sandbox) -> None:
    assert lifecycle.find_server(_project(tmp_path, sandbox, "a").praxis) is None


def test_a_corrupt_state_file_is_reported_not_acted_on(tmp_path: Path, sandbox: Sandbox) -> None:
    a = _project(tmp_path, sandbox, "a")
    (a.praxis / lifecycle.STATE_FILE).write_text("{not json")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.Foreign) and found.kind == "unreadable"


def test_a_server_ignoring_sigterm_gets_sigkill(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    server = _serve(a, started, FAKE_MCP_IGNORE_SIGTERM="1")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    outcome = lifecycle.stop_server(found, timeout=0.5)
    assert outcome.signals == ["SIGTERM", "SIGKILL"] and outcome.stopped
    assert server.wait(timeout=5) == -signal.SIGKILL
    assert not (a.praxis / lifecycle.STATE_FILE).exists()


def test_a_recycled_pid_is_never_signalled(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    server = _serve(a, started)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    found.start_time = "1"  # as if the pid now belonged to a newer process
    outcome = lifecycle.stop_server(found, timeout=0.2)
    assert outcome.signals == [] and "not signalled" in outcome.message
    assert lifecycle.alive(server.pid)


def test_an_http_server_is_restarted_with_its_argv_env_and_cwd(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started, PRAXIS_MARK="kept")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    captured = lifecycle.Captured.from_json(json.loads(json.dumps(found.capture().to_json())))
    lifecycle.stop_server(found)
    outcome = lifecycle.restart_server(captured, a.praxis)
    assert outcome.pid is not None
    started.append(outcome.pid)
    assert outcome.restarted and not outcome.reload_ide, outcome.message
    assert outcome.argv == captured.argv
    again = lifecycle.find_server(a.praxis)
    assert isinstance(again, lifecycle.ServerProcess) and again.pid == outcome.pid
    assert again.env.get("PRAXIS_MARK") == "kept" and again.cwd == captured.cwd


def test_a_dual_server_whose_ide_is_gone_is_restarted_and_stays_up(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started, transport="dual")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    captured = found.capture()
    gone = subprocess.Popen(["true"])
    gone.wait()
    captured.ppid = gone.pid  # the program that started it has exited
    lifecycle.stop_server(found)
    outcome = lifecycle.restart_server(captured, a.praxis)
    assert outcome.pid is not None
    started.append(outcome.pid)
    assert outcome.restarted and outcome.reload_ide, outcome.message
    time.sleep(0.5)
    assert lifecycle.alive(outcome.pid)


def test_a_dual_server_whose_ide_still_runs_is_left_to_the_ide(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started, transport="dual")  # its parent, this test process, plays the IDE
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    captured = found.capture()
    lifecycle.stop_server(found)
    outcome = lifecycle.restart_server(captured, a.praxis)
    assert not outcome.restarted and outcome.reload_ide and "reload" in outcome.message
    assert not (a.praxis / lifecycle.STATE_FILE).exists()


def test_a_stdio_server_belongs_to_the_ide_which_must_reload_it(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started, transport="stdio")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    outcome = lifecycle.restart_server(found.capture(), a.praxis)
    assert not outcome.restarted and outcome.reload_ide and "reload" in outcome.message


def test_a_missing_transport_flag_is_added_when_the_new_version_needs_it(
    tmp_path: Path, sandbox: Sandbox, started: list[int]
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    captured = found.capture()
    lifecycle.stop_server(found)
    i = captured.argv.index("--transport")
    captured.argv[i : i + 2] = []  # started by an older version that had no flag
    outcome = lifecycle.restart_server(captured, a.praxis)
    assert outcome.pid is not None
    started.append(outcome.pid)
    assert outcome.restarted, outcome.message
    assert outcome.argv is not None and outcome.argv[-2:] == ["--transport", "http"]


def test_captured_environment_keeps_secrets_out_of_the_session_file() -> None:
    captured = lifecycle.Captured(
        1, ["python"], "/", {"OPENAI_API_KEY": "sk-x", "PYTHONPATH": "/p"}, "http"
    )
    assert captured.to_json()["env"] == {"PYTHONPATH": "/p"}


def test_a_server_that_runs_this_upgrade_is_never_stopped(tmp_path: Path, sandbox: Sandbox) -> None:
    a = _project(tmp_path, sandbox, "a")
    code = (
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "from praxis_upgrade.server import lifecycle\n"
        "t = Path(sys.argv[1])\n"
        "state = {'pid': os.getppid(), 'transport': 'stdio'}\n"
        "(t / '.mcp_server_state.json').write_text(json.dumps(state))\n"
        "print(lifecycle.find_server(t).kind)\n"
    )
    # the "server" is a python process whose cmdline mentions mcp_server, with the project as cwd;
    # the upgrade runs as its child, as when an assistant calls the upgrade through the server
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {code!r}, "
            f"{str(a.praxis)!r}]).returncode)",
            "mcp_server",
        ],
        cwd=a.project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert server.stdout.strip() == "self"


def test_extra_arguments_do_not_repeat_an_option_the_server_already_has(tmp_path: Path) -> None:
    target = tmp_path / ".praxis-os"
    (target / "mcp_server").mkdir(parents=True)
    (target / "mcp_server" / "__main__.py").write_text("parser.add_argument('--transport')\n")
    captured = lifecycle.Captured(
        1, [sys.executable, "-m", "mcp_server", "--transport", "http"], str(tmp_path), {}, "http"
    )
    argv = lifecycle._launch_argv(captured, target, ["--transport", "dual", "--log-level", "DEBUG"])
    assert argv == [
        sys.executable,
        "-m",
        "mcp_server",
        "--transport",
        "http",
        "--log-level",
        "DEBUG",
    ]
