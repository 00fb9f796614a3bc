"""`praxis-upgrade mcp`: an assistant drives an upgrade through a real MCP client over stdio."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from kits.fakeplugin import calls, install_plugin_dist, make_fake_install, subprocess_env
from praxis_upgrade import __version__
from praxis_upgrade.content.vocab import Klass, Policy
from praxis_upgrade.integrations.mcp_tools import PAGE_BYTES, State

TOOLS = {
    "start_upgrade",
    "get_upgrade_state",
    "get_current_phase",
    "resume_upgrade",
    "rollback_upgrade",
    "list_sessions",
}
READ_ONLY = {"get_upgrade_state", "get_current_phase", "list_sessions"}
BUSY = ("starting", "running", "rolling_back")
STATE_LIMIT = 20_000  # bytes: what one poll of a dry run may cost an assistant's context


@dataclasses.dataclass
class Reply:
    """One tool result as the client got it: isError, the JSON text, its size on the wire."""

    is_error: bool
    data: dict[str, Any]
    size: int  # bytes of the JSON-RPC `result` the client received, serialised as on the wire


@dataclasses.dataclass
class Assistant:
    """The official MCP client on `praxis-upgrade mcp`, as an IDE runs it."""

    client: ClientSession
    server: Any  # the InitializeResult

    async def call(self, name: str, **args: object) -> Reply:
        result = await self.client.call_tool(name, args)
        assert len(result.content) == 1, result
        text = result.content[0].text
        size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode())
        return Reply(
            result.is_error, json.loads(text) if text.startswith("{") else {"text": text}, size
        )

    async def ok(self, name: str, **args: object) -> dict[str, Any]:
        reply = await self.call(name, **args)
        assert not reply.is_error, reply
        return reply.data

    async def poll(self, project: str, sid: str, **args: object) -> dict[str, Any]:
        """get_upgrade_state until the run is no longer busy."""
        with anyio.fail_after(60):
            while True:
                state = await self.ok("get_upgrade_state", target=project, session_id=sid, **args)
                if state["state"] not in BUSY:
                    return state
                assert [n["tool"] for n in state["next"]] == ["get_upgrade_state"]
                await anyio.sleep(0.2)


@contextlib.asynccontextmanager
async def assistant(env: dict[str, str]) -> AsyncIterator[Assistant]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "praxis_upgrade", "mcp"], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        server = await client.initialize()
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        yield Assistant(client, server)


def drive(env: dict[str, str], script: Callable[[Assistant], Any]) -> Any:
    async def main() -> Any:
        async with assistant(env) as a:
            return await script(a)

    return anyio.run(main)


# -- the protocol: schemas, errors, ids ------------------------------------------------------------


def test_the_server_names_its_version_and_describes_every_tool_and_parameter():
    async def script(a: Assistant) -> Any:
        return a.server, (await a.client.list_tools()).tools

    server, tools = drive(dict(os.environ), script)
    assert server.server_info.name == "praxis-upgrade"
    assert server.server_info.version == __version__
    assert "list_sessions" in server.instructions
    for tool in tools:
        assert tool.description and tool.title, tool.name
        props = tool.input_schema["properties"]
        assert all(p.get("description") for p in props.values()), tool.name
        assert tool.annotations.read_only_hint is (tool.name in READ_ONLY)
        assert tool.annotations.destructive_hint is (tool.name not in READ_ONLY)
        assert tool.annotations.open_world_hint is False
    by_name = {t.name: t for t in tools}
    conflicts = by_name["start_upgrade"].input_schema["properties"]["conflicts"]
    assert set(conflicts["enum"]) == {p.value for p in Policy} - {Policy.PROMPT.value}
    assert conflicts["default"] == "keep-local"
    described = by_name["get_upgrade_state"].description
    assert all(s.value in described for s in State), described
    plan = by_name["get_upgrade_state"].input_schema["properties"]["include_plan"]
    assert plan["enum"] == ["none", "conflicts", "changes", "all"]


def test_a_failure_is_an_is_error_result_whose_hint_speaks_of_arguments(tmp_path):
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Reply]:
        return {
            "target": await a.call("start_upgrade", target=project + "/nowhere", source=source),
            "source": await a.call("start_upgrade", target=project, source=project),
            "prompt": await a.call("start_upgrade", target=project, conflicts="prompt"),
            "resume": await a.call("resume_upgrade", target=project),
        }

    replies = drive(dict(os.environ), script)
    assert all(r.is_error for r in replies.values()), replies
    for name in ("target", "source", "resume"):
        body = replies[name].data
        assert body["ok"] is False and body["error"] and body["hint"], body
        assert "--" not in body["hint"], body  # no CLI flags: the tools' arguments
    assert replies["target"].data["kind"] == "TargetError"
    assert "pass target" in replies["target"].data["hint"]
    assert "pass source" in replies["source"].data["hint"]
    assert "prompt" in replies["prompt"].data["text"]  # refused by the schema's enum
    assert not (tmp_path / "project" / ".praxis-os" / ".cache").exists()  # nothing launched


def test_an_unknown_session_id_is_an_error_that_names_the_known_ids(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Any]:
        known = (await a.ok("start_upgrade", target=project, source=source))["session_id"]
        await a.poll(project, known)
        unknown_id = "20200101-000000-abcdef"
        return {
            "known": known,
            "unknown": await a.call("get_upgrade_state", target=project, session_id=unknown_id),
            "phase": await a.call("get_current_phase", target=project, session_id=unknown_id),
            "malformed": await a.call("get_upgrade_state", target=project, session_id="../x"),
            "resume": await a.call("resume_upgrade", target=project, session_id=unknown_id),
            "rollback": await a.call("rollback_upgrade", target=project, session_id=unknown_id),
        }

    out = drive(subprocess_env(site), script)
    for name in ("unknown", "phase", "resume", "rollback"):
        reply = out[name]
        assert reply.is_error and reply.data["kind"] == "StateError", reply
        assert "list_sessions" in reply.data["hint"] and out["known"] in reply.data["hint"]
    assert out["malformed"].is_error and "not a session id" in out["malformed"].data["error"]
    assert "--" not in out["malformed"].data["hint"]


# -- driving upgrades ----------------------------------------------------------------------------


def test_assistant_starts_an_upgrade_and_reads_its_state_back(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Any]:
        started = await a.ok("start_upgrade", target=project, source=source)
        sid = started["session_id"]
        return {
            "started": started,
            "state": await a.poll(project, sid),
            "phase": await a.ok("get_current_phase", target=project, session_id=sid),
            "listed": await a.ok("list_sessions", target=project),
        }

    out = drive(subprocess_env(site), script)
    started, state = out["started"], out["state"]
    assert started["kind"] == "upgrade"
    assert started["next"][0]["arguments"] == {
        "target": project,
        "session_id": started["session_id"],
    }
    assert state["state"] == "completed" and state["kind"] == "upgrade", state
    assert state["errors"] == [] and state["backup"]
    assert [n["tool"] for n in state["next"]] == ["rollback_upgrade"]  # only to undo it
    assert out["phase"] == {
        "ok": True,
        "session_id": started["session_id"],
        "kind": "upgrade",
        "state": "completed",
        "phase": 5,
        "phase_name": "cleanup",
        "step": None,
    }
    assert [s["id"] for s in out["listed"]["sessions"]] == [started["session_id"]]
    # the upgrade ran in its own process, not inside the MCP server
    assert {c["pid"] for c in calls(tmp_path / "project")} == {started["pid"]}


def test_upgrade_survives_the_mcp_server_going_away(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = make_fake_install(tmp_path)

    async def start_and_leave(a: Assistant) -> str:
        started = await a.ok("start_upgrade", target=str(project), source=str(source))
        return str(started["session_id"])

    sid = drive(subprocess_env(site, FAKEPLUGIN_SLOW_AT="content"), start_and_leave)
    store = project / ".praxis-os" / ".cache" / "state" / "praxis-upgrade" / f"{sid}.json"
    assert not store.exists() or json.loads(store.read_text())["status"] == "running"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if store.exists() and json.loads(store.read_text())["status"] == "completed":
            break
        time.sleep(0.2)
    assert json.loads(store.read_text())["status"] == "completed"
    assert os.path.exists(project / ".praxis-os" / "calls.log")


def test_a_run_refused_in_pre_flight_reads_failed_with_its_error(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source))["session_id"]
        return await a.poll(project, sid)

    state = drive(subprocess_env(site, FAKEPLUGIN_FAIL_AT="plan"), script)
    assert state["state"] == "failed", state
    assert "injected failure at plan" in state["errors"][0]["message"]


def test_a_run_that_dies_without_a_result_reads_failed_not_starting(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source))["session_id"]
        return await a.poll(project, sid)

    state = drive(subprocess_env(site, FAKEPLUGIN_EXIT_AT="plan"), script)
    assert state["state"] == "failed", state
    assert state["errors"][0]["kind"] == "Exited"


def test_an_interrupted_upgrade_is_resumed_by_the_next_server(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def interrupt(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source))["session_id"]
        return await a.poll(project, sid)

    async def resume(a: Assistant) -> dict[str, Any]:
        resumed = await a.ok("resume_upgrade", target=project)
        return {"resumed": resumed, "state": await a.poll(project, resumed["session_id"])}

    stopped = drive(subprocess_env(site, FAKEPLUGIN_EXIT_AT="content"), interrupt)
    assert stopped["state"] == "interrupted" and stopped["phase"] == 2, stopped
    assert [n["tool"] for n in stopped["next"]] == ["resume_upgrade", "rollback_upgrade"]
    out = drive(subprocess_env(site), resume)
    assert out["resumed"]["session_id"] == stopped["session_id"]
    assert out["state"]["state"] == "completed", out


def test_a_rollback_returns_an_id_that_get_upgrade_state_reads_its_outcome_by(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    project, source = map(str, make_fake_install(tmp_path))

    async def script(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source))["session_id"]
        await a.poll(project, sid)
        rollback = await a.ok("rollback_upgrade", target=project, session_id=sid)
        return {
            "sid": sid,
            "rollback": rollback,
            "outcome": await a.poll(project, rollback["session_id"]),
            "upgrade": await a.ok("get_upgrade_state", target=project, session_id=sid),
            "again": await a.call("rollback_upgrade", target=project, session_id=sid),
            "listed": await a.ok("list_sessions", target=project),
        }

    out = drive(subprocess_env(site), script)
    rid = out["rollback"]["session_id"]
    assert rid != out["sid"] and out["rollback"]["rolls_back"] == out["sid"]
    assert out["outcome"]["kind"] == "rollback" and out["outcome"]["state"] == "rolled_back"
    assert out["outcome"]["rolled_back_session"] == out["sid"]
    assert out["outcome"]["rollback"]["complete"] is True
    assert out["upgrade"]["state"] == "rolled_back"
    assert out["again"].is_error and "already rolled back" in out["again"].data["error"]
    assert {"id": rid, "kind": "rollback"} in out["listed"]["runs"]
    assert (
        tmp_path / "project" / ".praxis-os" / "standards" / "a.md"
    ).read_text() == "original a\n"


# -- a real plan: small by default, whole on request ---------------------------------------------


def _dry_run(sandbox: Any, tmp_path: Path) -> tuple[str, str]:
    target = sandbox.target(tmp_path / "project", "v1.3.0", edits=True)
    return str(target.project), str(sandbox.source.path)


def test_a_dry_run_state_is_small_and_says_what_to_call_next(sandbox, tmp_path):
    project, source = _dry_run(sandbox, tmp_path)

    async def script(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source, dry_run=True))[
            "session_id"
        ]
        await a.poll(project, sid)
        return {
            "sid": sid,
            "reply": await a.call("get_upgrade_state", target=project, session_id=sid),
        }

    out = drive(dict(os.environ), script)
    reply, sid = out["reply"], out["sid"]
    state = reply.data
    assert not reply.is_error and reply.size < STATE_LIMIT, reply.size
    assert "plan" not in state  # the entries only on request
    assert state["kind"] == "dry-run" and state["state"] == "completed", state
    assert (state["from_version"], state["to_version"]) == ("v1.3.0", "v1.6.0")
    assert state["counts"]["conflict"] == state["conflicts"]["total"] > 0
    assert all(c["result"] is None for c in state["conflicts"]["shown"])  # nothing decided yet
    assert state["next"] == [
        {
            "tool": "get_upgrade_state",
            "arguments": {"target": project, "session_id": sid, "include_plan": "conflicts"},
            "why": state["next"][0]["why"],
        },
        {
            "tool": "start_upgrade",
            "arguments": {
                "target": project,
                "source": str(Path(source).resolve()),
                "conflicts": "keep-local",
                "dry_run": False,
            },
            "why": state["next"][1]["why"],
        },
    ]
    assert not (Path(project) / ".praxis-os" / ".cache" / "state" / "praxis-upgrade").exists()


def test_the_plan_comes_a_page_at_a_time_under_a_size_cap(sandbox, tmp_path):
    project, source = _dry_run(sandbox, tmp_path)

    async def script(a: Assistant) -> dict[str, Any]:
        sid = (await a.ok("start_upgrade", target=project, source=source, dry_run=True))[
            "session_id"
        ]
        state = await a.poll(project, sid)
        pages, offset = [], 0
        while offset is not None:
            page = await a.call(
                "get_upgrade_state",
                target=project,
                session_id=sid,
                include_plan="all",
                offset=offset,
                limit=200,
            )
            pages.append(page)
            offset = page.data["plan"]["next_offset"]
        conflicts = await a.ok(
            "get_upgrade_state", target=project, session_id=sid, include_plan="conflicts"
        )
        return {"state": state, "pages": pages, "conflicts": conflicts}

    out = drive(dict(os.environ), script)
    pages = out["pages"]
    total = sum(out["state"]["counts"].values())
    assert len(pages) > 1  # 200 entries do not fit under the cap
    assert all(p.size < STATE_LIMIT and not p.is_error for p in pages), [p.size for p in pages]
    compact = [json.dumps(p.data["plan"]["entries"], separators=(",", ":")) for p in pages]
    assert all(len(c.encode()) <= PAGE_BYTES for c in compact), [len(c) for c in compact]
    paths = [e["path"] for p in pages for e in p.data["plan"]["entries"]]
    assert len(paths) == len(set(paths)) == total == pages[0].data["plan"]["total"]
    assert set(pages[0].data["plan"]["entries"][0]) == {"path", "klass", "action"}
    conflicts = out["conflicts"]["plan"]
    assert conflicts["total"] == out["state"]["conflicts"]["total"]
    assert conflicts["next_offset"] is None
    assert all(Klass.conflicting(e["klass"]) for e in conflicts["entries"])
    assert [e["path"] for e in conflicts["entries"]] == [
        c["path"] for c in out["state"]["conflicts"]["shown"]
    ]


def test_a_dry_run_that_meets_conflicts_with_fail_reads_failed_with_a_hint_in_tools(
    sandbox, tmp_path
):
    project, source = _dry_run(sandbox, tmp_path)

    async def script(a: Assistant) -> dict[str, Any]:
        started = await a.ok(
            "start_upgrade", target=project, source=source, conflicts="fail", dry_run=True
        )
        return await a.poll(project, started["session_id"])

    state = drive(dict(os.environ), script)
    assert state["state"] == "failed", state
    error = state["errors"][0]
    assert error["kind"] == "ConflictsError" and "nothing was changed" in error["message"]
    assert "start_upgrade" in error["hint"] and "--" not in error["hint"], error
    assert [n["tool"] for n in state["next"]] == ["start_upgrade"]
