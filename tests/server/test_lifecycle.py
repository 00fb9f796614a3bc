"""Finding, stopping and restarting this project's server by its verified pid, never by pattern."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from kits.sandboxkit import Sandbox
from praxis_upgrade.demo import Target, server_command, start_server
from praxis_upgrade.demo.fake_venv import venv_python
from praxis_upgrade.server import lifecycle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="the impostors and signals are POSIX programs"),
]
SLEEP = "import time; time.sleep(60)"


class Started:
    """Processes a test started. Each is remembered with its creation time when added, so the
    clean-up kills it only while its pid still names that very process, never a reused one."""

    def __init__(self) -> None:
        self.procs: list[psutil.Process] = []

    def append(self, pid: int) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            self.procs.append(psutil.Process(pid))


@pytest.fixture
def started() -> Iterator[Started]:
    """Processes this test started; each still running at the end is killed and reaped."""
    pids = Started()
    yield pids
    for proc in pids.procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()  # psutil refuses when the pid is now another process
        with contextlib.suppress(psutil.Error):
            proc.wait(timeout=10)


def _project(tmp_path: Path, sandbox: Sandbox, name: str) -> Target:
    """A copy of make_target(<name>, <sandbox source>, version="v1.6.0", edits=False, venv=True):
    the server runs on the install's venv interpreter, as installed."""
    return sandbox.target(tmp_path / name, "v1.6.0", edits=False, venv=True)


def _run(argv: list[str], started: Started, cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start argv (recorded in `started`); returns once the process runs argv (exec is done)."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.append(proc.pid)
    deadline = time.monotonic() + 10
    while psutil.Process(proc.pid).cmdline() != argv:
        assert time.monotonic() < deadline, f"{argv} did not start"
        time.sleep(0.01)
    return proc


def _name_in_state_file(target: Path, pid: int) -> None:
    """A state file naming pid, written (as a server would) after that process started."""
    (target / lifecycle.STATE_FILE).write_text(json.dumps({"pid": pid, "transport": "http"}))


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
    target: Target, started: Started, transport: str = "http", **env: str
) -> subprocess.Popen[bytes]:
    proc = start_server(target, transport=transport, env=env)
    started.append(proc.pid)
    _wait_state(target.praxis, proc.pid)
    return proc


def test_stopping_project_a_leaves_project_b_running(
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    sleeper = _run(["sleep", "60"], started, a.project)
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
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    server = _serve(a, started)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    found.create_time = 1.0  # as if the pid now belonged to a newer process
    outcome = lifecycle.stop_server(found, timeout=0.2)
    assert outcome.signals == [] and "not signalled" in outcome.message
    assert lifecycle.alive(server.pid)


def test_an_http_server_is_restarted_with_its_argv_env_and_cwd(
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
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
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    _serve(a, started, transport="stdio")
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    outcome = lifecycle.restart_server(found.capture(), a.praxis)
    assert not outcome.restarted and outcome.reload_ide and "reload" in outcome.message


def test_a_missing_transport_flag_is_added_when_the_new_version_needs_it(
    tmp_path: Path, sandbox: Sandbox, started: Started
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


def _assert_left_alone(target: Path, proc: subprocess.Popen[bytes]) -> lifecycle.Foreign:
    """find_server calls proc foreign, and it was not signalled; then this test kills it."""
    found = lifecycle.find_server(target)
    assert isinstance(found, lifecycle.Foreign) and found.kind == "foreign", found
    assert found.pid == proc.pid and proc.poll() is None and lifecycle.alive(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return found


def _impostor(kind: str, a: Target, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The command line (and extra environment) of a process that only looks like the server."""
    server_dir = os.path.relpath(a.praxis / "mcp_server", a.project)
    python = str(venv_python(a.praxis))
    if kind == "tail":
        (a.praxis / "mcp_server" / "x.py").write_text("x = 1\n")
        return ["tail", "-f", os.path.join(server_dir, "x.py")], {}
    if kind == "test run":  # `python -m pytest .praxis-os/mcp_server`, on the venv's interpreter
        shim = tmp_path / "shim" / "pytest"
        shim.mkdir(parents=True)
        (shim / "__init__.py").write_text("")
        (shim / "__main__.py").write_text(SLEEP + "\n")
        path = os.pathsep.join([str(shim.parent), str(a.praxis)])
        return [python, "-m", "pytest", server_dir], {"PYTHONPATH": path}
    if kind == "editor":  # `vi .praxis-os/mcp_server/__main__.py`
        return [sys.executable, "-c", SLEEP, os.path.join(server_dir, "__main__.py")], {}
    if kind == "-c then -m":  # the venv's interpreter with the server's options, after -c code
        return [python, "-c", SLEEP, "-m", "mcp_server", "--transport", "http"], {}
    assert kind == "other interpreter"  # the server module, but not run by the install's venv
    argv, env = server_command(a, "http")
    return [sys.executable, *argv[1:]], {**env, "FAKE_MCP_START_DELAY": "60"}


@pytest.mark.parametrize("kind", ["tail", "test run", "editor", "-c then -m", "other interpreter"])
def test_a_process_that_only_mentions_the_server_is_never_signalled(
    kind: str, tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    argv, env = _impostor(kind, a, tmp_path)
    impostor = _run(argv, started, a.project, **env)  # cwd is the project, as the server's is
    _name_in_state_file(a.praxis, impostor.pid)
    found = _assert_left_alone(a.praxis, impostor)
    assert ("not on this install's venv" if kind == "other interpreter" else "another program") in (
        found.message
    )


def test_the_servers_command_started_after_the_state_file_is_a_reused_pid(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    argv, env = server_command(a, "http")  # the server's very command, delayed before it starts
    late = _run(argv, started, a.project, **env, FAKE_MCP_START_DELAY="60")
    _name_in_state_file(a.praxis, late.pid)
    written_before = psutil.Process(late.pid).create_time() - 60
    os.utime(a.praxis / lifecycle.STATE_FILE, (written_before, written_before))
    found = _assert_left_alone(a.praxis, late)
    assert "after the file was written" in found.message


def test_the_servers_command_started_before_the_state_file_is_the_server(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    argv, env = server_command(a, "http")
    server = _run(argv, started, a.project, **env, FAKE_MCP_START_DELAY="60")
    _name_in_state_file(a.praxis, server.pid)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess) and found.pid == server.pid
    assert "venv interpreter runs -m mcp_server" in found.reason


def test_a_bare_python_from_an_activated_venv_is_the_server(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    argv, env = server_command(a, "http")
    path = os.pathsep.join([str(venv_python(a.praxis).parent), os.environ.get("PATH", "")])
    bare = ["python", *argv[1:]]
    server = _run(bare, started, a.project, **env, PATH=path, FAKE_MCP_START_DELAY="60")
    _name_in_state_file(a.praxis, server.pid)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess) and "from PATH" in found.reason


def test_the_command_line_a_state_file_records_identifies_the_server(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    argv, env = server_command(a, "http")
    other = [sys.executable, *argv[1:]]  # not the venv's interpreter: only the record vouches
    server = _run(other, started, a.project, **env, FAKE_MCP_START_DELAY="60")
    state = {"pid": server.pid, "transport": "http", "argv": other}
    (a.praxis / lifecycle.STATE_FILE).write_text(json.dumps(state))
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess) and "records" in found.reason
    state["argv"] = [*other, "--log-level", "DEBUG"]  # a record of another command line
    (a.praxis / lifecycle.STATE_FILE).write_text(json.dumps(state))
    _assert_left_alone(a.praxis, server)


CHILD_HOOK = """
import os as _os
if _os.environ.get("PRAXIS_TEST_CHILD"):  # start one child process, as a server may
    import subprocess as _subprocess, sys as _sys
    _env = {k: v for k, v in _os.environ.items() if k != "PRAXIS_TEST_CHILD"}
    _subprocess.Popen([_sys.executable, "-c", _os.environ["PRAXIS_TEST_CHILD"]], env=_env)
"""


def _serve_with_child(
    a: Target, started: Started, code: str, **env: str
) -> tuple[subprocess.Popen[bytes], psutil.Process]:
    """The stand-in server with one child process running `code` (started before the server
    writes its state file)."""
    with open(a.praxis / "mcp_server" / "__init__.py", "a", encoding="utf-8") as init:
        init.write(CHILD_HOOK)
    server = _serve(a, started, PRAXIS_TEST_CHILD=code, **env)
    (child,) = psutil.Process(server.pid).children()
    started.append(child.pid)
    return server, child


def test_stopping_the_server_stops_its_children(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    server, child = _serve_with_child(a, started, SLEEP)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess) and found.pid == server.pid
    outcome = lifecycle.stop_server(found)
    assert outcome.stopped and outcome.signals == ["SIGTERM"], outcome
    assert server.wait(timeout=5) is not None
    child.wait(timeout=5)
    assert not lifecycle.alive(child.pid)


def test_a_child_ignoring_sigterm_is_killed_after_the_server_stopped(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    ready = tmp_path / "child-ignores-sigterm"
    code = (
        "import os, pathlib, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "pathlib.Path(os.environ['PRAXIS_TEST_READY']).write_text('ready')\n"
        "time.sleep(60)\n"
    )
    server, child = _serve_with_child(a, started, code, PRAXIS_TEST_READY=str(ready))
    deadline = time.monotonic() + 10
    while not ready.exists():
        assert time.monotonic() < deadline, "the child never ignored SIGTERM"
        time.sleep(0.01)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    outcome = lifecycle.stop_server(found, timeout=0.5)
    assert outcome.stopped and outcome.signals == ["SIGTERM"], outcome
    assert "survived" not in outcome.message
    assert server.wait(timeout=5) is not None
    child.wait(timeout=5)
    assert not lifecycle.alive(child.pid)


def test_a_server_record_whose_pid_now_runs_another_command_is_never_signalled(
    tmp_path: Path, sandbox: Sandbox, started: Started
) -> None:
    a = _project(tmp_path, sandbox, "a")
    server = _serve(a, started)
    found = lifecycle.find_server(a.praxis)
    assert isinstance(found, lifecycle.ServerProcess)
    sleeper = _run(["sleep", "60"], started, a.project)
    # the record as if rebuilt without its psutil handle, its pid now given to `sleep`
    reused = dataclasses.replace(found, pid=sleeper.pid, handle=None)
    outcome = lifecycle.stop_server(reused, timeout=0.2)
    assert not outcome.stopped and outcome.signals == [] and "not signalled" in outcome.message
    assert sleeper.poll() is None and lifecycle.alive(server.pid)


def test_python_module_reads_the_module_a_command_line_runs() -> None:
    module = lifecycle.python_module
    assert module(["python", "-m", "mcp_server", "--transport", "http"]) == "mcp_server"
    assert module(["python", "-u", "-X", "dev", "-W", "error", "-mmcp_server"]) == "mcp_server"
    assert module(["python", "-Bm", "mcp_server"]) == "mcp_server"
    assert module(["python", "-c", "pass", "-m", "mcp_server"]) is None
    assert module(["python", "-Wignore", "script.py", "-m", "mcp_server"]) is None
    assert module(["python", "--check-hash-based-pycs", "always", "-m", "x"]) == "x"
    assert module(["python"]) is None
