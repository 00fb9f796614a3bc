"""Phase 4: the stand-in server checked through the official MCP client; tool names from source."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from kits.sandboxkit import Sandbox, server_checkout
from praxis_upgrade.demo import TAGS, Source, Target, release
from praxis_upgrade.errors import TargetError
from praxis_upgrade.server import probe, toolnames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(sandbox: Sandbox) -> Source:
    return sandbox.source


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Target:
    # a copy of make_target(..., source, version="v1.6.0", venv=True, edits=False)
    return sandbox.target(
        tmp_path_factory.mktemp("proj") / "project", "v1.6.0", venv=True, edits=False
    )


def _servers_of(project: Path) -> list[int]:
    """Live processes running mcp_server with this project as cwd."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        info = proc.info
        if (
            "mcp_server" in (info["cmdline"] or [])
            and info["cwd"]
            and os.path.realpath(info["cwd"]) == os.path.realpath(project)
            and info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(proc.pid)
    return found


def _check(result: probe.ProbeResult, name: str) -> probe.Check:
    return next(c for c in result.checks if c.name == name)


def test_a_healthy_server_passes_every_check(target: Target) -> None:
    result = probe.probe_server(target.praxis, expected=set(release("v1.6.0").tools))
    assert result.ok, result.checks
    assert [c.name for c in result.checks] == [
        "initialize",
        "tools/list",
        "call get_server_info",
        "call search_standards",
        "call pos_workflow",
    ]
    assert (result.server_name, result.server_version) == ("praxis-os-rag", "1.6.0")
    assert result.command[-2:] == ["--transport", "stdio"]
    assert "praxis_os_upgrade_v1" in _check(result, "call pos_workflow").detail
    assert probe.ProbeResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_a_server_that_fails_to_start_fails_initialize_with_its_stderr(target: Target) -> None:
    result = probe.probe_server(
        target.praxis, expected=set(release("v1.6.0").tools), env={"FAKE_MCP_FAIL_START": "1"}
    )
    assert not result.ok
    assert _check(result, "initialize").ok is False
    assert "FAKE_MCP_FAIL_START" in _check(result, "initialize").detail


def test_a_missing_tool_is_a_required_failure(target: Target) -> None:
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        env={"FAKE_MCP_DROP_TOOL": "pos_workflow"},
    )
    listing = _check(result, "tools/list")
    assert (
        not result.ok and listing.required and not listing.ok and "pos_workflow" in listing.detail
    )


def test_an_extra_tool_only_warns(target: Target) -> None:
    expected = set(release("v1.6.0").tools) - {"current_date"}
    result = probe.probe_server(target.praxis, expected=expected, smoke=False)
    extra = _check(result, "tools/extra")
    assert result.ok and not extra.required and not extra.ok and "current_date" in extra.detail


def test_a_hanging_server_is_called_hung_and_killed(target: Target) -> None:
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        limits=probe.Limits(start=2),
        env={"FAKE_MCP_HANG": "1", "FAKE_MCP_IGNORE_SIGTERM": "1"},
    )
    detail = _check(result, "initialize").detail
    assert not result.ok and "no answer within 2s: the server hangs" in detail
    assert "idle" in detail
    assert _servers_of(target.project) == []


def test_a_server_still_busy_starting_past_the_limit_is_not_called_hung(target: Target) -> None:
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        limits=probe.Limits(start=4),
        env={"FAKE_MCP_START_CPU": "30"},
    )
    detail = _check(result, "initialize").detail
    assert not result.ok and "not hung" in detail and "using CPU" in detail
    assert "--validate-timeout" in detail and probe.TIMEOUT_ENV in detail
    assert _servers_of(target.project) == []


def test_a_slow_start_is_waited_for_with_progress_lines(target: Target) -> None:
    lines: list[str] = []
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        smoke=False,
        env={"FAKE_MCP_START_CPU": "7"},
        progress=lines.append,
    )
    assert result.ok, result.checks
    assert result.started_in is not None and result.started_in >= 7
    assert lines and all(line.startswith("waiting for the server to answer: ") for line in lines)
    assert any("process alive, using CPU" in line for line in lines)


def test_a_server_that_dies_starting_is_reported_with_its_exit_code_and_stderr(
    target: Target,
) -> None:
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        env={"FAKE_MCP_CRASH_START": "cannot load the embedding model"},
    )
    detail = _check(result, "initialize").detail
    assert not result.ok and "the server exited with code 1 before answering" in detail
    assert "RuntimeError: cannot load the embedding model" in detail  # the tail of its stderr


def test_a_stray_line_on_stdout_is_skipped_and_only_warned_about(target: Target) -> None:
    result = probe.probe_server(
        target.praxis,
        expected=set(release("v1.6.0").tools),
        env={"FAKE_MCP_STRAY_STDOUT": "Loading model weights..."},
    )
    assert result.ok, result.checks
    stray = _check(result, "stdout")
    assert not stray.required and "Loading model weights..." in stray.detail


def test_the_servers_own_version_is_told_apart_from_its_frameworks(target: Target) -> None:
    result = probe.probe_server(target.praxis, expected=set(release("v1.6.0").tools))
    assert (result.server_version, result.framework_version) == ("1.6.0", "1.26.0")
    bare = probe.probe_server(target.praxis, expected=set(release("v1.6.0").tools), smoke=False)
    assert bare.server_version == "1.6.0"  # from the state file the server wrote


def test_the_start_limit_comes_from_the_option_then_the_environment_then_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(probe.TIMEOUT_ENV, raising=False)
    assert probe.resolve_limits() == probe.Limits(start=probe.START_TIMEOUT)
    assert probe.resolve_limits(settings={"validate_timeout": 240}).start == 240
    monkeypatch.setenv(probe.TIMEOUT_ENV, "300")
    assert probe.resolve_limits(settings={"validate_timeout": 240}).start == 300
    assert probe.resolve_limits(90).start == 90
    monkeypatch.setenv(probe.TIMEOUT_ENV, "soon")
    with pytest.raises(TargetError) as err:
        probe.resolve_limits()
    assert probe.TIMEOUT_ENV in err.value.message and err.value.hint


def test_a_probe_killed_with_the_tool_takes_its_server_along_and_the_state_comes_back(
    target: Target,
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the server dies with the tool through PR_SET_PDEATHSIG, a Linux call")
    state = target.praxis / ".mcp_server_state.json"
    keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    original = json.dumps({"pid": keeper.pid, "transport": "dual"}).encode()
    state.write_bytes(original)
    script = (
        "import sys; from pathlib import Path; from praxis_upgrade.server import probe; "
        "probe.probe_server(Path(sys.argv[1]), expected=set())"
    )
    env = {**os.environ, "FAKE_MCP_HANG": "1"}  # starts, writes its state file, never answers
    tool = subprocess.Popen([sys.executable, "-c", script, str(target.praxis)], env=env)
    try:
        # the server, not a short-lived child such as the venv interpreter's check
        server = _wait_for(lambda: _child_running(tool.pid, "mcp_server"))
        _wait_for(lambda: json.loads(state.read_bytes())["pid"] == server.pid)
        tool.kill()  # SIGKILL: no finally block of ours runs
        tool.wait()
        assert _wait_for(lambda: not server.is_running() or server.status() == "zombie")
        # the next probe puts back the state file the killed one had saved
        assert probe.probe_server(target.praxis, expected=set(), smoke=False).checks[0].ok
        assert state.read_bytes() == original
    finally:
        keeper.kill()
        keeper.wait()
        tool.kill()
        state.unlink(missing_ok=True)


def _child_running(pid: int, word: str) -> psutil.Process | None:
    """A child of `pid` whose command line has `word` in it (None while there is none)."""
    for child in psutil.Process(pid).children():
        if any(word in arg for arg in child.cmdline()):
            return child
    return None


def _wait_for(condition: Any, limit: float = 30) -> Any:
    """Poll until `condition()` is truthy (and return it); fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error, IndexError):
            value = condition()
            if value:
                return value
        time.sleep(0.05)
    raise AssertionError(f"not within {limit}s: {condition}")


def test_a_server_crashing_mid_session_fails_the_call_it_crashed_on(target: Target) -> None:
    result = probe.probe_server(
        target.praxis, expected=set(release("v1.6.0").tools), env={"FAKE_MCP_CRASH_AFTER": "2"}
    )
    assert [c.ok for c in result.checks] == [True, True, False]
    assert result.checks[-1].name == "call get_server_info" and not result.ok


def test_a_running_servers_state_file_survives_the_probe(target: Target) -> None:
    state = target.praxis / ".mcp_server_state.json"
    original = json.dumps(
        {"pid": os.getpid(), "transport": "dual", "url": "http://127.0.0.1:4242/mcp"}
    ).encode()
    state.write_bytes(original)
    try:
        assert probe.probe_server(
            target.praxis, expected=set(release("v1.6.0").tools), smoke=False
        ).ok
        assert state.read_bytes() == original
    finally:
        state.unlink()


def test_a_target_without_venv_fails_the_start_check_without_raising(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    bare = sandbox.target(tmp_path / "bare", "v1.6.0", edits=False)
    result = probe.probe_server(bare.praxis, expected={"search_standards"})
    assert not result.ok and "venv" in result.checks[0].detail


def test_expected_tools_match_every_released_version(tmp_path: Path, source: Source) -> None:
    for tag in TAGS:
        checkout = server_checkout(source.path, tag, tmp_path / tag)
        assert toolnames.expected_tools(checkout) == set(release(tag).tools), tag


def test_expected_tools_read_decorators_and_name_arguments(tmp_path: Path) -> None:
    tools = tmp_path / "mcp_server" / "server" / "tools"
    tools.mkdir(parents=True)
    (tools / "a.py").write_text(
        "def register(mcp):\n"
        "    @mcp.tool()\n    async def search_standards(query: str): ...\n"
        "    @mcp.tool(name='pos_workflow')\n    def workflow(action: str): ...\n"
        "    @mcp.tool\n    def current_date(): ...\n"
        "    @other.thing()\n    def not_a_tool(): ...\n"
    )
    (tmp_path / "mcp_server" / "tests").mkdir()
    (tmp_path / "mcp_server" / "tests" / "test_x.py").write_text(
        "@mcp.tool()\ndef fake_in_tests(): ...\n"
    )
    assert toolnames.expected_tools(tmp_path) == {
        "search_standards",
        "pos_workflow",
        "current_date",
    }


def test_expected_tools_honour_the_install_config_groups(target: Target) -> None:
    config = target.praxis / "config.json"
    saved = config.read_text()
    data = json.loads(saved)
    data["mcp"]["enabled_tool_groups"] = ["rag"]
    config.write_text(json.dumps(data))
    try:
        assert toolnames.expected_tools(target.praxis / "mcp_server") == {
            "search_standards",
            "get_server_info",
            "current_date",
        }
    finally:
        config.write_text(saved)


def test_a_legacy_server_is_probed_with_the_tools_it_has(tmp_path: Path, sandbox: Sandbox) -> None:
    old = sandbox.target(tmp_path / "old", "v1.3.0", venv=True, edits=False)
    result = probe.probe_server(old.praxis, expected=toolnames.expected_tools(old.praxis))
    assert result.ok, result.checks
    # create_workflow/start_workflow end in _workflow but take no `action`: not called blindly
    assert [c.name for c in result.checks] == ["initialize", "tools/list", "call search_standards"]
