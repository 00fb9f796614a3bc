"""Phase 4 probe: start the installed server from its venv and talk MCP to it with the official SDK.

Steps: initialize, tools/list against the tools the source defines, then smoke calls
(``get_server_info``, ``search_standards``, ``*_workflow list_workflows``). Every exchange runs
under one deadline; on timeout the server (and its process group) is killed at once, so a hung
server fails the check instead of hanging the caller. The probe server would overwrite the
running server's ``.mcp_server_state.json`` (and upstream deletes it on exit): the file is put
back afterwards when the server it names is still alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, TextIO

import anyio

from praxis_upgrade.errors import TargetError
from praxis_upgrade.server.lifecycle import (
    STATE_FILE,
    ServerInfo,
    alive,
    have_proc,
    knows_transport,
)
from praxis_upgrade.server.venv import venv_python
from praxis_upgrade.util import fs

TOKEN_VAR = "PRAXIS_UPGRADE_PROBE"
# the server must find *this* project (cwd) with its own venv, whatever our own process uses
DROPPED_ENV = {"PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "AGENT_OS_BASE_PATH", "PYTHONSTARTUP"}


@dataclasses.dataclass
class Check:
    """One validation check; a failed *required* check fails the upgrade, others only warn."""

    name: str
    required: bool
    ok: bool
    detail: str
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        return cls(**data)


@dataclasses.dataclass
class ProbeResult:
    checks: list[Check]
    seconds: float
    command: list[str]
    server_name: str | None = None
    server_version: str | None = None
    tools: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        checks = [Check.from_json(c) for c in data.get("checks", [])]
        rest = {k: v for k, v in data.items() if k not in ("checks", "ok")}
        return cls(checks=checks, **rest)


def launch_command(target: Path) -> list[str]:
    """``<venv python> -m mcp_server [--transport stdio]`` (the flag only if this version knows
    it)."""

    cmd = [str(venv_python(target)), "-m", "mcp_server"]
    return cmd + (["--transport", "stdio"] if knows_transport(target / "mcp_server") else [])


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    return None


def _leaf(exc: BaseException) -> BaseException:
    inner = getattr(exc, "exceptions", None)  # an (anyio) exception group: report its first cause
    while inner:
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _kill_probe_children(token: str) -> list[int]:
    """SIGKILL our own children that carry this probe's token (and their process groups)."""
    killed: list[int] = []
    if not have_proc():
        return killed
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) != me:
                continue
            if f"{TOKEN_VAR}={token}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            pid = int(entry.name)
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


class _Run:
    """The state of one probe: checks so far and the step running now."""

    def __init__(self, expected: set[str], smoke: bool) -> None:
        self.expected, self.smoke = expected, smoke
        self.checks: list[Check] = []
        self.step, self.required, self.t0 = "initialize", True, time.monotonic()
        self.name: str | None = None
        self.version: str | None = None
        self.tools: list[str] = []

    def begin(self, step: str, required: bool = True) -> None:
        self.step, self.required, self.t0 = step, required, time.monotonic()

    def done(self, ok: bool, detail: str, *, required: bool | None = None) -> None:
        req = self.required if required is None else required
        self.checks.append(Check(self.step, req, ok, detail, time.monotonic() - self.t0))

    async def talk(self, session: Any) -> None:
        self.begin("initialize")
        init = await session.initialize()
        info = _attr(init, "server_info", "serverInfo")
        self.name, self.version = _attr(info, "name"), _attr(info, "version")
        protocol = _attr(init, "protocol_version", "protocolVersion")
        self.done(True, f"{self.name} {self.version} (protocol {protocol})")
        self.begin("tools/list")
        listed = await session.list_tools()
        self.tools = sorted(t.name for t in listed.tools)
        schemas = {t.name: _attr(t, "input_schema", "inputSchema") or {} for t in listed.tools}
        missing, extra = (
            sorted(self.expected - set(self.tools)),
            sorted(set(self.tools) - self.expected),
        )
        self.done(
            not missing,
            f"missing: {', '.join(missing)}" if missing else f"{len(self.tools)} tools as expected",
        )
        if extra:
            self.begin("tools/extra", required=False)
            self.done(False, f"tools this version does not define: {', '.join(extra)}")
        if not self.smoke:
            return
        usable = set(self.tools) & self.expected
        calls: list[tuple[str, dict[str, Any]]] = [
            ("get_server_info", {}),
            ("search_standards", {"query": "testing"}),
        ]
        # the consolidated workflow tool (pos_/aos_workflow) takes an action; legacy *_workflow
        # tools do not
        calls += [
            (t, {"action": "list_workflows"})
            for t in sorted(usable)
            if t.endswith("_workflow") and "action" in (schemas[t].get("properties") or {})
        ][:1]
        for tool, args in calls:
            if tool not in usable:
                continue
            self.begin(f"call {tool}")
            result = await session.call_tool(tool, args)
            text = " ".join(str(_attr(c, "text") or "") for c in (_attr(result, "content") or []))
            failed = bool(_attr(result, "is_error", "isError"))
            self.done(not failed, ("tool error: " if failed else "") + text[:300])


def _stderr_tail(errlog: IO[str]) -> str:
    with contextlib.suppress(OSError, ValueError):
        errlog.flush()
        errlog.seek(0)
        return errlog.read()[-800:].strip()
    return ""


async def _probe(
    run: _Run,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    errlog: TextIO,
    token: str,
) -> None:
    # lazy on purpose: the MCP SDK is heavy (~0.8 s of imports) and only validation needs it
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(cwd))
    try:
        async with stdio_client(params, errlog=errlog) as (read, write):
            try:
                with anyio.fail_after(timeout):
                    async with ClientSession(read, write) as session:
                        await run.talk(session)
            except TimeoutError:
                killed = _kill_probe_children(token)
                run.done(
                    False,
                    f"no answer within {timeout:g}s: the server hangs (killed pid {killed or '-'})",
                )
    except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a failed check
        err = _leaf(exc)
        tail = _stderr_tail(errlog)
        run.done(
            False, f"{type(err).__name__}: {err}" + (f"\nserver stderr:\n{tail}" if tail else "")
        )


def _restore_state(target: Path, before: bytes | None) -> None:
    path = target / STATE_FILE
    with contextlib.suppress(OSError, ValueError):
        now = path.read_bytes() if path.exists() else None
        if before is not None and now != before:
            info = json.loads(before)
            if isinstance(info.get("pid"), int) and alive(info["pid"]):
                fs.atomic_write_bytes(path, before, mode=0o600)
        elif before is None and now is not None:
            left = ServerInfo.read(target)
            if left is not None and not alive(left.pid):
                path.unlink()


def probe_server(
    target: Path,
    *,
    expected: set[str],
    smoke: bool = True,
    timeout: float = 20,
    env: Mapping[str, str] | None = None,
) -> ProbeResult:
    """Start ``target``'s server over stdio from its venv and validate it through MCP.

    Args:
        target: the ``.praxis-os`` directory.
        expected: tool names this version defines (see ``toolnames.expected_tools``).
        smoke: also call a few tools.
        timeout: deadline for the whole MCP exchange, in seconds.
        env: extra environment for the server, over ours (as an IDE passes its own, e.g. API
            keys for an ``openai`` embedding provider) minus variables that would point it at
            another Python or project.

    Returns:
        The checks (never raises for a broken server; ``result.ok`` tells).
    """

    started = time.monotonic()
    run = _Run(set(expected), smoke)
    try:
        command = launch_command(target)
    except TargetError as exc:
        run.done(False, f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        return ProbeResult(run.checks, time.monotonic() - started, [])
    token = uuid.uuid4().hex
    inherited = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    full_env = {
        **inherited,
        **dict(env or {}),
        "PYTHONPATH": str(target),
        "PYTHONUNBUFFERED": "1",
        TOKEN_VAR: token,
    }
    state_path = target / STATE_FILE
    before = state_path.read_bytes() if state_path.exists() else None
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            anyio.run(_probe, run, command, full_env, target.parent, timeout, errlog, token)
        finally:
            _kill_probe_children(token)
            _restore_state(target, before)
    return ProbeResult(
        run.checks, time.monotonic() - started, command, run.name, run.version, run.tools
    )
