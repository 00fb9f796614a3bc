"""The sandbox: fake praxis-os releases, installed targets and the stand-in MCP server."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from git import Repo

from kits.sandboxkit import Sandbox
from praxis_upgrade.demo import (
    RELEASES,
    TAGS,
    Source,
    StdioClient,
    Target,
    build_fakedep_wheels,
    make_demo,
    make_target,
    release,
    server_command,
    start_server,
    venv_python,
)
from praxis_upgrade.demo.history import build_history
from praxis_upgrade.demo.upstream_install import release_files

TOOL_RE = re.compile(r"@mcp\.tool\(\)\s*\n\s*(?:async\s+)?def\s+(\w+)")


@pytest.fixture(scope="module")
def source(sandbox: Sandbox) -> Source:
    return sandbox.source  # make_source(<dir>/praxis-os), built once per session


@pytest.fixture(scope="module")
def targets(source: Source, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Target]:
    root = tmp_path_factory.mktemp("targets")
    return {tag: make_target(root / tag, source, version=tag) for tag in source.tags}


@pytest.fixture(scope="module")
def venv_target(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Target:
    # a copy of make_target(..., version="v1.5.0", venv=True);
    # make_demo below builds a venv for real
    return sandbox.target(tmp_path_factory.mktemp("venv") / "proj", "v1.5.0", venv=True)


def name_status(source: Source, a: str, b: str) -> list[tuple[str, ...]]:
    with Repo(source.path) as repo:
        out = repo.git.diff("--name-status", "-M", "-z", a, b).split("\0")
    rows, i = [], 0
    while i < len(out) and out[i]:
        width = 3 if out[i][0] in "RC" else 2
        rows.append(tuple(out[i : i + width]))
        i += width
    return rows


def declared_tools(files: dict[str, tuple[bytes, int]]) -> list[str]:
    return sorted(
        name
        for path, (data, _m) in files.items()
        if path.startswith("mcp_server/server/tools/") and path.endswith(".py")
        for name in TOOL_RE.findall(data.decode())
    )


def run_server(
    target: Target, args: list[str], env: dict[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    argv, extra = server_command(target)
    return subprocess.run(
        argv[:3] + args,
        input=stdin,
        capture_output=True,
        timeout=30,
        cwd=target.project,
        env={**os.environ, **extra, **(env or {})},
    )


async def _sdk_session(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, object]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=cwd)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        info = (
            await session.call_tool("get_server_info", {})
            if any(t.name == "get_server_info" for t in tools.tools)
            else None
        )
        search = await session.call_tool("search_standards", {"query": "rollback checkpoint"})
        return {
            "init": init,
            "tools": sorted(t.name for t in tools.tools),
            "info": info,
            "search": search,
        }


def sdk_probe(target: Target) -> dict[str, object]:
    argv, env = server_command(target)
    return asyncio.run(_sdk_session(argv, env, target.project))


# ---- source ---------------------------------------------------------------------------------


def test_source_has_four_tags_newest_checked_out(source: Source) -> None:
    assert source.tags == ["v1.3.0", "v1.4.0", "v1.5.0", "v1.6.0"]
    with Repo(source.path) as repo:
        assert sorted(t.name for t in repo.tags) == source.tags
        assert repo.head.commit == repo.tags["v1.6.0"].commit
        assert not repo.is_dirty(untracked_files=True)
        assert repo.tags["v1.6.0"].tag is not None  # annotated, so `git describe` sees it


def test_each_release_edits_some_standards_and_more_workflow_files(source: Source) -> None:
    for a, b in itertools.pairwise(TAGS):
        rows = name_status(source, a, b)
        old = release_files(source.path, a)
        for prefix, installed, low, high in (
            ("universal/standards/", "standards/universal/", 0.08, 0.30),
            ("universal/workflows/", "workflows/", 0.2, 0.45),
        ):
            edited = [r for r in rows if r[0] == "M" and r[1].startswith(prefix)]
            total = sum(1 for p in old if p.startswith(installed))
            assert low <= len(edited) / total <= high, (a, b, prefix, len(edited), total)
        assert any(r[0] == "A" and r[1].startswith("universal/standards/") for r in rows)
        assert any(r[0] == "D" and r[1].startswith("universal/standards/") for r in rows)


def test_releases_carry_the_upstream_renames_splits_and_removals(source: Source) -> None:
    v14, v15, v16 = (name_status(source, a, b) for a, b in itertools.pairwise(TAGS))
    assert any(
        r[0] == "A" and r[1].startswith("universal/workflows/agent_os_upgrade_v1/") for r in v14
    )
    assert any(
        r[0] == "A" and r[1].startswith("universal/workflows/standards_creation_v1/") for r in v15
    )
    assert ("D", "mcp_server/server/tools/workflow_tools.py") in v15
    assert ("A", "mcp_server/server/tools/workflow_tools/__init__.py") in v15
    assert any(r[0] == "D" and r[1].startswith("universal/usage/") for r in v15)
    assert any(
        r[0].startswith("R")
        and r[1] == "universal/usage/mcp-usage-guide.md"
        and r[2] == "universal/standards/ai-assistant/mcp-usage-guide.md"
        for r in v15
    )
    assert (
        "R100",
        "universal/standards/ai-assistant/agent-os-development-process.md",
        "universal/standards/ai-assistant/praxis-os-development-process.md",
    ) in v16
    assert any(
        r[0].startswith("R") and "/meta-framework/" in r[1] and "/meta-workflow/" in r[2]
        for r in v16
    )
    assert any(
        r[0].startswith("R")
        and "/agent_os_upgrade_v1/" in r[1]
        and "/praxis_os_upgrade_v1/" in r[2]
        for r in v16
    )
    reqs = {
        tag: release_files(source.path, tag)["mcp_server/requirements.txt"][0]
        for tag in ("v1.5.0", "v1.6.0")
    }
    assert b"fakedep==1.0" in reqs["v1.5.0"] and b"fakedep==2.0" in reqs["v1.6.0"]


@pytest.mark.parametrize("tag", TAGS)
def test_tools_declared_with_mcp_tool_decorators_match_the_release(
    source: Source, tag: str
) -> None:
    assert declared_tools(release_files(source.path, tag)) == list(release(tag).tools)


def test_tool_names_move_from_legacy_to_aos_to_pos() -> None:
    assert "start_workflow" in release("v1.3.0").tools
    assert {"aos_workflow", "aos_browser"} <= set(release("v1.5.0").tools)
    assert release("v1.6.0").tools == (
        "current_date",
        "get_server_info",
        "pos_browser",
        "pos_workflow",
        "search_standards",
    )


def test_scale_one_is_the_size_of_a_real_install(source: Source) -> None:
    sizes = sorted(len(d) for d, _m in release_files(source.path, "v1.6.0").values())
    assert 300 <= len(sizes) <= 420
    assert 2_200_000 <= sum(sizes) <= 3_500_000
    assert 2_000 <= sizes[len(sizes) // 2] <= 5_000
    assert 10_000 <= sizes[int(len(sizes) * 0.9)] <= 25_000
    assert sizes[-1] <= 45_000


def test_scale_multiplies_file_counts_and_seed_makes_it_deterministic() -> None:
    one = build_history(1, seed=1)[-1][1]
    ten = build_history(10, seed=1)[-1][1]
    assert 8.5 <= len(ten) / len(one) <= 11.5
    small = build_history(0.5, seed=1)[-1][1]
    assert build_history(0.5, seed=1)[-1][1] == small
    assert build_history(0.5, seed=2)[-1][1] != small


def test_source_has_binary_crlf_non_ascii_and_executable_files(source: Source) -> None:
    files = release_files(source.path, "v1.6.0")
    assert files["workflows/spec_creation_v1/supporting-docs/architecture-diagram.png"][
        0
    ].startswith(b"\x89PNG")
    assert b"\r\n" in files["standards/universal/installation/windows-setup.md"][0]
    assert "standards/universal/documentation/café-style-guide.md" in files
    hooks = [
        m
        for p, (_d, m) in files.items()
        if p.startswith("scripts/pre-commit/") and p.endswith(".sh")
    ]
    assert hooks and all(m & stat.S_IXUSR for m in hooks)
    for tag in TAGS:
        with Repo(source.path) as repo:
            wheels = {b.name for b in repo.commit(tag).tree["wheels"].blobs}
        assert wheels == {"fakedep-1.0-py3-none-any.whl", "fakedep-2.0-py3-none-any.whl"}


def test_fakedep_wheels_are_valid_and_reproducible(tmp_path: Path) -> None:
    first = build_fakedep_wheels(tmp_path / "a")
    second = build_fakedep_wheels(tmp_path / "b")
    for version, path in first.items():
        assert path.read_bytes() == second[version].read_bytes()
        with zipfile.ZipFile(path) as zf:
            assert f'__version__ = "{version}"' in zf.read("fakedep/__init__.py").decode()
            assert f"fakedep-{version}.dist-info/RECORD" in zf.namelist()


# ---- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_target_has_the_installer_layout_and_matches_the_source(
    source: Source, targets: dict[str, Target], tag: str
) -> None:
    target = targets[tag]
    praxis = target.praxis
    for d in (
        "specs/review",
        "specs/approved",
        "specs/completed",
        "workspace/design",
        "workspace/analysis",
        "workspace/scratch",
        ".cache/vector_index",
        "standards/development",
    ):
        assert (praxis / d).is_dir(), d
    assert (praxis / "standards/.rebuild_index").is_file()
    for path, (data, mode) in release_files(source.path, tag).items():
        if target.user_edits.get(path) == "delete":
            assert not (praxis / path).exists()
        elif path not in target.user_edits:
            assert (praxis / path).read_bytes() == data, path
            assert (praxis / path).stat().st_mode & 0o111 == mode & 0o111, path
    assert not (praxis / "mcp_server/.cursor").exists()
    assert (praxis / "mcp_server/.agent-os").is_dir()  # the installer does not ignore it
    assert (praxis / "usage").is_dir() == release(tag).has_usage
    assert not any(
        (praxis / p).exists() for p in ("docs", "installation", "tests", "README.md", "universal")
    )
    mcp = json.loads((target.project / ".cursor/mcp.json").read_text())
    (server,) = mcp["mcpServers"].values()
    assert server["command"] == "${workspaceFolder}/.praxis-os/venv/bin/python"
    assert ("--transport" in server["args"]) == release(tag).transport_required
    assert server["env"]["PYTHONPATH"] == "${workspaceFolder}/.praxis-os"
    assert ".praxis-os/.mcp_server_state.json\n" in (target.project / ".gitignore").read_text()
    with Repo(target.project) as repo:
        assert not repo.is_dirty(untracked_files=True)


def test_edits_create_a_true_conflict_with_the_next_release(
    source: Source, targets: dict[str, Target], tmp_path: Path
) -> None:
    target = targets["v1.5.0"]
    kinds = sorted(target.user_edits.values())
    assert kinds == ["delete", "edit", "edit", "edit-conflict", "hotfix"]
    base, upstream = release_files(source.path, "v1.5.0"), release_files(source.path, "v1.6.0")
    for path, kind in target.user_edits.items():
        if kind not in ("edit", "edit-conflict"):
            continue
        files = {
            "local": (target.praxis / path).read_bytes(),
            "base": base[path][0],
            "up": upstream[path][0],
        }
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
        rc = subprocess.run(
            ["git", "merge-file", "-p", "local", "base", "up"], cwd=tmp_path, capture_output=True
        ).returncode
        assert (rc > 0) == (kind == "edit-conflict"), (path, kind)
    assert "HOTFIX" in (target.praxis / "mcp_server/rag_engine.py").read_text()


def test_newest_target_cannot_have_a_conflict(targets: dict[str, Target]) -> None:
    assert "edit-conflict" not in targets["v1.6.0"].user_edits.values()


def test_user_files_exist_and_were_never_shipped_upstream(
    source: Source, targets: dict[str, Target]
) -> None:
    target = targets["v1.5.0"]
    shipped = set().union(*(release_files(source.path, t) for t in TAGS))
    assert {
        "workflows/.temp-team-flow-definition.yaml",
        "standards/validation/release-checklist.md",
        "standards/universal/testing/team-test-conventions.md",
        "workspace/scratch/whiteboard.png",
        "specs/review/2025-11-02-naïve-cache/notes-résumé.md",
        "config.json",
    } <= set(target.user_files)
    assert any(p.startswith("workflows/my_team_flow_v1/") for p in target.user_files)
    for path in target.user_files:
        assert (target.praxis / path).is_file() and path not in shipped


# ---- stand-in server -------------------------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_official_sdk_client_sees_the_release_tools(targets: dict[str, Target], tag: str) -> None:
    result = sdk_probe(targets[tag])
    init = result["init"]
    # like the real server, initialize names the MCP framework's version; get_server_info the own
    assert init.server_info.name == "praxis-os-rag" and init.server_info.version == "1.26.0"  # type: ignore[attr-defined]
    assert result["tools"] == list(release(tag).tools)
    search = result["search"]
    assert not search.is_error and json.loads(search.content[0].text)["total_results"] > 0  # type: ignore[attr-defined]
    if result["info"] is not None:
        info = json.loads(result["info"].content[0].text)  # type: ignore[attr-defined]
        assert info["version"] == tag[1:] and info["tools_available"] == list(release(tag).tools)


def test_server_runs_from_the_install_venv_and_owns_its_state_file(venv_target: Target) -> None:
    assert venv_python(venv_target.praxis).exists()
    proc = start_server(venv_target)
    client = StdioClient(proc)
    try:
        assert client.initialize()["result"]["serverInfo"]["name"] == "praxis-os-rag"
        state_path = venv_target.praxis / ".mcp_server_state.json"
        state = json.loads(state_path.read_text())
        assert state["pid"] == proc.pid and state["port"] is None and state["transport"] == "stdio"
        assert set(state) == {
            "version",
            "transport",
            "port",
            "host",
            "path",
            "url",
            "pid",
            "started_at",
            "project",
        }
        assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
        workflows = client.call("aos_workflow", {"action": "list_workflows"})
        assert "my_team_flow_v1" in {w["directory"] for w in workflows["workflows"]}
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(10) == 0
    assert not (venv_target.praxis / ".mcp_server_state.json").exists()


def test_protocol_errors_and_version_negotiation(targets: dict[str, Target]) -> None:
    proc = start_server(targets["v1.6.0"])
    client = StdioClient(proc)
    try:
        assert client.initialize("2024-11-05")["result"]["protocolVersion"] == "2024-11-05"
        assert client.initialize("1999-01-01")["result"]["protocolVersion"] == "2025-06-18"
        assert client.request("ping")["result"] == {}
        assert client.request("resources/list")["error"]["code"] == -32601
        assert client.request("tools/call", {"name": "nope"})["error"]["code"] == -32602
        bad = client.request("tools/call", {"name": "search_standards", "arguments": {"nope": 1}})
        assert bad["error"]["code"] == -32602
        failed = client.request(
            "tools/call", {"name": "pos_workflow", "arguments": {"action": "explode"}}
        )
        assert failed["result"]["isError"] is True
        assert client.call("pos_browser", {"action": "navigate"})["status"] == "unavailable"
    finally:
        proc.kill()
        proc.wait()


def test_transport_is_required_from_1_6_only(targets: dict[str, Target]) -> None:
    new = run_server(targets["v1.6.0"], [])
    assert new.returncode == 2 and b"--transport" in new.stderr
    old = run_server(targets["v1.5.0"], [])  # stdin at EOF: serves nothing, exits cleanly
    assert old.returncode == 0, old.stderr


def test_server_exits_1_when_fakedep_does_not_match(
    targets: dict[str, Target], tmp_path: Path
) -> None:
    wheels = build_fakedep_wheels(tmp_path)
    target = targets["v1.6.0"]
    env = {"PYTHONPATH": f"{target.praxis}{os.pathsep}{wheels['1.0']}"}
    stale = run_server(target, ["--transport", "stdio"], env)
    assert stale.returncode == 1
    assert b"fakedep 1.0 is installed but prAxIs OS 1.6.0 requires fakedep==2.0" in stale.stderr
    missing = run_server(target, ["--transport", "stdio"], {"PYTHONPATH": str(target.praxis)})
    assert missing.returncode == 1 and b"fakedep is not installed" in missing.stderr


def test_fail_start_and_start_delay(targets: dict[str, Target]) -> None:
    target = targets["v1.6.0"]
    failed = run_server(target, ["--transport", "stdio"], {"FAKE_MCP_FAIL_START": "1"})
    assert failed.returncode == 1 and b"FAKE_MCP_FAIL_START" in failed.stderr
    t0 = time.monotonic()
    proc = start_server(target, env={"FAKE_MCP_START_DELAY": "0.8"})
    try:
        StdioClient(proc).initialize()
        assert time.monotonic() - t0 >= 0.8
    finally:
        proc.kill()
        proc.wait()


def test_crash_after_n_requests_leaves_a_stale_state_file(targets: dict[str, Target]) -> None:
    target = targets["v1.6.0"]
    proc = start_server(target, env={"FAKE_MCP_CRASH_AFTER": "2"})
    client = StdioClient(proc)
    client.initialize()
    client.request("tools/list")
    with pytest.raises(EOFError):
        client.request("tools/list")
    assert proc.wait(10) == 3
    state_path = target.praxis / ".mcp_server_state.json"
    assert json.loads(state_path.read_text())["pid"] == proc.pid
    state_path.unlink()


def test_drop_tool_hides_one_tool(targets: dict[str, Target]) -> None:
    proc = start_server(targets["v1.6.0"], env={"FAKE_MCP_DROP_TOOL": "search_standards"})
    client = StdioClient(proc)
    try:
        client.initialize()
        assert client.tool_names() == [
            "current_date",
            "get_server_info",
            "pos_browser",
            "pos_workflow",
        ]
    finally:
        proc.kill()
        proc.wait()


def test_hang_answers_nothing_and_sigterm_cleans_up(targets: dict[str, Target]) -> None:
    target = targets["v1.6.0"]
    proc = start_server(target, env={"FAKE_MCP_HANG": "1"})
    client = StdioClient(proc, timeout=1.0)
    with pytest.raises(TimeoutError):
        client.initialize()
    assert (target.praxis / ".mcp_server_state.json").exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not (target.praxis / ".mcp_server_state.json").exists()


def test_ignore_sigterm_needs_sigkill(targets: dict[str, Target]) -> None:
    proc = start_server(targets["v1.6.0"], env={"FAKE_MCP_IGNORE_SIGTERM": "1"})
    client = StdioClient(proc)
    client.initialize()
    proc.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(0.7)
    proc.kill()
    assert proc.wait(10) == -signal.SIGKILL
    (targets["v1.6.0"].praxis / ".mcp_server_state.json").unlink()


def test_enabled_tool_groups_and_missing_standards_dir(targets: dict[str, Target]) -> None:
    target = targets["v1.6.0"]
    config_path = target.praxis / "config.json"
    original = config_path.read_bytes()
    try:
        config = json.loads(original)
        config["mcp"]["enabled_tool_groups"] = ["rag"]
        config_path.write_text(json.dumps(config))
        proc = start_server(target)
        client = StdioClient(proc)
        client.initialize()
        assert client.tool_names() == ["current_date", "get_server_info", "search_standards"]
        proc.kill()
        proc.wait()
        config["rag"]["standards_path"] = "elsewhere/standards"
        config_path.write_text(json.dumps(config))
        broken = run_server(target, ["--transport", "stdio"])
        assert broken.returncode == 1 and b"standards_path does not exist" in broken.stderr
    finally:
        config_path.write_bytes(original)


def test_base_path_comes_from_agent_os_base_path(
    targets: dict[str, Target], tmp_path: Path
) -> None:
    target = targets["v1.6.0"]
    argv, extra = server_command(target)
    env = {**os.environ, **extra, "AGENT_OS_BASE_PATH": str(target.project)}
    result = subprocess.run(
        [*argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=30,
        input=b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n',
    )
    assert result.returncode == 0 and json.loads(result.stdout)["result"] == {}


def test_dual_transport_also_serves_http(targets: dict[str, Target]) -> None:
    target = targets["v1.6.0"]
    proc = start_server(target, transport="dual")
    client = StdioClient(proc)
    try:
        client.initialize()
        state = json.loads((target.praxis / ".mcp_server_state.json").read_text())
        assert state["transport"] == "dual" and 4242 <= state["port"] <= 5242
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).encode()
        req = urllib.request.Request(
            state["url"], data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert len(json.loads(resp.read())["result"]["tools"]) == 5
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


# ---- demo ------------------------------------------------------------------------------------


def test_demo_is_a_customised_v1_5_install_with_a_working_venv(tmp_path: Path) -> None:
    demo = make_demo(tmp_path, scale=0.3)
    assert demo.source.tags == list(TAGS) and demo.target.version == "v1.5.0"
    assert "edit-conflict" in demo.target.user_edits.values()
    out = subprocess.run(
        [str(venv_python(demo.target.praxis)), "-c", "import fakedep; print(fakedep.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1.0"
    assert len(RELEASES) == 4 and sys.version_info >= (3, 10)
