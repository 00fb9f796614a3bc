"""`praxis-upgrade mcp`: an assistant drives an upgrade through a real MCP client over stdio."""
from __future__ import annotations

import json
import os
import sys
import time

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from fakeplugin import calls, install_plugin_dist, make_fake_install, subprocess_env


async def _drive(env: dict[str, str], project: str, source: str) -> dict:
    params = StdioServerParameters(command=sys.executable, args=["-m", "praxis_upgrade", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {"start_upgrade", "get_upgrade_state", "get_current_phase", "resume_upgrade",
                         "rollback_upgrade", "list_sessions"}

        async def call(name: str, **args: object) -> dict:
            result = await client.call_tool(name, args)
            assert not result.is_error, result
            return json.loads(result.content[0].text)

        bad = await call("start_upgrade", target=project + "/nowhere", source=source)
        assert bad["ok"] is False and bad["hint"]
        started = await call("start_upgrade", target=project, source=source)
        assert started["ok"], started
        with anyio.fail_after(30):
            while True:
                state = await call("get_upgrade_state", target=project, session_id=started["session_id"])
                if state["state"] in ("completed", "failed", "rolled_back"):
                    break
                await anyio.sleep(0.2)
        phase = await call("get_current_phase", target=project, session_id=started["session_id"])
        listed = await call("list_sessions", target=project)
        return {"started": started, "state": state, "phase": phase, "listed": listed}


def test_assistant_starts_an_upgrade_and_reads_its_state_back(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = make_fake_install(tmp_path)
    out = anyio.run(_drive, subprocess_env(site), str(project), str(source))
    assert out["state"]["state"] == "completed", out
    assert out["phase"]["phase"] == 5
    assert [s["id"] for s in out["listed"]["sessions"]] == [out["started"]["session_id"]]
    # the upgrade ran in its own process, not inside the MCP server
    assert {c["pid"] for c in calls(project)} == {out["started"]["pid"]}


def test_upgrade_survives_the_mcp_server_going_away(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = make_fake_install(tmp_path)
    env = subprocess_env(site, FAKEPLUGIN_SLOW_AT="content")

    async def start_and_leave() -> str:
        params = StdioServerParameters(command=sys.executable, args=["-m", "praxis_upgrade", "mcp"], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            result = await client.call_tool("start_upgrade", {"target": str(project), "source": str(source)})
            return json.loads(result.content[0].text)["session_id"]

    sid = anyio.run(start_and_leave)  # the server process is gone after this
    store = project / ".praxis-os" / ".cache" / "state" / "praxis-upgrade" / f"{sid}.json"
    assert not store.exists() or json.loads(store.read_text())["status"] == "running"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if store.exists() and json.loads(store.read_text())["status"] == "completed":
            break
        time.sleep(0.2)
    assert json.loads(store.read_text())["status"] == "completed"
    assert os.path.exists(project / ".praxis-os" / "calls.log")


def test_a_run_refused_in_pre_flight_reports_its_error_back(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = make_fake_install(tmp_path)
    env = subprocess_env(site, FAKEPLUGIN_FAIL_AT="plan")

    async def start_and_poll() -> dict:
        params = StdioServerParameters(command=sys.executable, args=["-m", "praxis_upgrade", "mcp"], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            started = await client.call_tool("start_upgrade", {"target": str(project), "source": str(source)})
            sid = json.loads(started.content[0].text)["session_id"]
            with anyio.fail_after(30):
                while True:
                    got = await client.call_tool("get_upgrade_state", {"target": str(project), "session_id": sid})
                    state = json.loads(got.content[0].text)
                    if state["state"] != "starting":
                        return state
                    await anyio.sleep(0.2)

    state = anyio.run(start_and_poll)
    assert state["state"] == "finished"
    assert state["result"]["ok"] is False and "injected failure at plan" in state["result"]["error"]
