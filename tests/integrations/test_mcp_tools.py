"""`praxis-upgrade mcp`: an assistant drives an upgrade through a real MCP client over stdio."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from kits.fakeplugin import calls, install_plugin_dist, make_fake_install, subprocess_env

Call = Callable[..., Awaitable[dict[str, Any]]]
TOOLS = {
    "start_upgrade",
    "get_upgrade_state",
    "get_current_phase",
    "resume_upgrade",
    "rollback_upgrade",
    "list_sessions",
}


@contextlib.asynccontextmanager
async def assistant(env: dict[str, str]) -> AsyncIterator[Call]:
    """A real MCP client on `praxis-upgrade mcp`, as an IDE runs it; yields call(tool, **args)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "praxis_upgrade", "mcp"], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS

        async def call(name: str, **args: object) -> dict[str, Any]:
            result = await client.call_tool(name, args)
            assert not result.is_error, result
            return json.loads(result.content[0].text)

        yield call


async def poll(
    call: Call, project: str, sid: str, *, until: Callable[[str], bool]
) -> dict[str, Any]:
    with anyio.fail_after(30):
        while True:
            state = await call("get_upgrade_state", target=project, session_id=sid)
            if until(state["state"]):
                return state
            await anyio.sleep(0.2)


def test_assistant_starts_an_upgrade_and_reads_its_state_back(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def drive() -> dict[str, Any]:
        async with assistant(subprocess_env(site)) as call:
            bad = await call("start_upgrade", target=project + "/nowhere", source=source)
            assert bad["ok"] is False and bad["hint"]
            started = await call("start_upgrade", target=project, source=source)
            assert started["ok"], started
            sid = started["session_id"]
            state = await poll(
                call, project, sid, until=lambda s: s in ("completed", "failed", "rolled_back")
            )
            phase = await call("get_current_phase", target=project, session_id=sid)
            listed = await call("list_sessions", target=project)
            return {"started": started, "state": state, "phase": phase, "listed": listed}

    out = anyio.run(drive)
    assert out["state"]["state"] == "completed", out
    assert out["phase"]["phase"] == 5
    assert [s["id"] for s in out["listed"]["sessions"]] == [out["started"]["session_id"]]
    # the upgrade ran in its own process, not inside the MCP server
    assert {c["pid"] for c in calls(tmp_path / "project")} == {out["started"]["pid"]}


def test_upgrade_survives_the_mcp_server_going_away(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = make_fake_install(tmp_path)

    async def start_and_leave() -> str:
        async with assistant(subprocess_env(site, FAKEPLUGIN_SLOW_AT="content")) as call:
            return (await call("start_upgrade", target=str(project), source=str(source)))[
                "session_id"
            ]

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
    project, source = map(str, make_fake_install(tmp_path))

    async def start_and_poll() -> dict[str, Any]:
        async with assistant(subprocess_env(site, FAKEPLUGIN_FAIL_AT="plan")) as call:
            sid = (await call("start_upgrade", target=project, source=source))["session_id"]
            return await poll(call, project, sid, until=lambda s: s != "starting")

    state = anyio.run(start_and_poll)
    assert state["state"] == "finished"
    assert state["result"]["ok"] is False and "injected failure at plan" in state["result"]["error"]
