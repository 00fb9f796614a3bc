"""Phase 4 probe: start the installed server from its venv and talk MCP to it with the official SDK.

Steps: initialize, tools/list against the tools the source defines, then smoke calls
(``get_server_info``, ``search_standards``, ``*_workflow list_workflows``). The server gets a
generous limit to *start* (the real one loads an embedding model: 10-30 s) and each later call a
shorter one of its own. While it starts, the probe watches the process (alive, using CPU) and
reports it as progress; when a limit passes it says which of three things happened: the server
exited (exit code and the tail of its stderr), it is still working (alive and using CPU: slower
than the limit, not hung), or it hangs (alive and idle).

The server is the probe's own child, in its own process group, killed with its children when the
probe ends; on Linux it also dies with this tool (``PR_SET_PDEATHSIG``). The probe server writes
the project's ``.mcp_server_state.json`` like any server start (and upstream deletes it on exit):
the running server's file is saved first and put back afterwards, also at the next probe when
this tool was killed in between.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from praxis_upgrade.errors import TargetError
from praxis_upgrade.server.lifecycle import STATE_FILE, ServerInfo, alive, knows_transport
from praxis_upgrade.server.venv import venv_python
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import anyio
    import psutil
    from anyio.abc import Process
else:  # heavy: loaded on first use, not at start-up (a dry run never uses it)
    anyio = lazy_module("anyio")
    psutil = lazy_module("psutil")

START_TIMEOUT = 180.0
"""Default limit for the server to answer ``initialize``: the real server on a slow, busy laptop."""
CALL_TIMEOUT = 30.0
"""Default limit for each later MCP call."""
TIMEOUT_ENV = "PRAXIS_UPGRADE_VALIDATE_TIMEOUT"
TOKEN_VAR = "PRAXIS_UPGRADE_PROBE"
# the server must find *this* project (cwd) with its own venv, whatever our own process uses
DROPPED_ENV = {"PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "AGENT_OS_BASE_PATH", "PYTHONSTARTUP"}
WATCH_EVERY = 3.0  # seconds between two progress lines while the server starts
BUSY = 0.05  # CPU seconds per second above which a starting server counts as working
# Linux: the server is SIGKILLed when this tool dies (set before exec, kept across it)
_DIE_WITH_PARENT = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, 9)\n"
    "if os.getppid() != int(os.environ['PRAXIS_UPGRADE_PROBE_PARENT']):\n"
    "    os._exit(70)\n"
    "os.execv(sys.executable, [sys.executable] + sys.argv[1:])\n"
)

Progress = Callable[[str], None]


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
    """The checks of one probe, and what the server said about itself.

    ``server_version`` is the prAxIs server's own version (its ``get_server_info`` tool, else
    the state file it wrote); ``framework_version`` is what ``initialize`` reports, which for the
    real server is its MCP framework's version.
    """

    checks: list[Check]
    seconds: float
    command: list[str]
    server_name: str | None = None
    server_version: str | None = None
    tools: list[str] = dataclasses.field(default_factory=list)
    framework_version: str | None = None
    started_in: float | None = None  # seconds from launch to the answer to initialize

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
        names = {f.name for f in dataclasses.fields(cls)} - {"checks"}
        return cls(checks=checks, **{k: v for k, v in data.items() if k in names})


@dataclasses.dataclass(frozen=True)
class Limits:
    """How long the server may take to answer ``initialize``, and each call after it."""

    start: float = START_TIMEOUT
    call: float = CALL_TIMEOUT


def launch_command(target: Path) -> list[str]:
    """``<venv python> -m mcp_server [--transport stdio]`` (the flag only if this version knows
    it)."""

    cmd = [str(venv_python(target)), "-m", "mcp_server"]
    return cmd + (["--transport", "stdio"] if knows_transport(target / "mcp_server") else [])


def _spawn_argv(command: list[str]) -> list[str]:
    """The command as spawned: on Linux through a guard that ties the server's life to ours."""
    if sys.platform.startswith("linux"):
        return [command[0], "-c", _DIE_WITH_PARENT, *command[1:]]
    return command


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


class _Watch:
    """The probe server seen from outside: alive, exit code, CPU used since the last look."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.launched = time.monotonic()
        self._cpu, self._at = 0.0, self.launched
        self.busy = False
        with contextlib.suppress(psutil.Error):
            self._ps: psutil.Process | None = psutil.Process(process.pid)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def look(self) -> str:
        """Update `busy` and say how the server is doing, e.g. "process alive, using CPU"."""
        if self.returncode is not None:
            return f"process exited with code {self.returncode}"
        try:
            assert self._ps is not None
            times = self._ps.cpu_times()
            cpu = times.user + times.system
            for child in self._ps.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    t = child.cpu_times()
                    cpu += t.user + t.system
        except (psutil.Error, AssertionError):
            return "process state unknown"
        now = time.monotonic()
        self.busy = (cpu - self._cpu) / max(now - self._at, 1e-3) > BUSY
        self._cpu, self._at = cpu, now
        return "process alive, " + ("using CPU" if self.busy else "idle")

    def kill_tree(self) -> None:
        """Kill the server and every process it started (psutil: the platform's calls)."""
        if self._ps is None:
            return
        with contextlib.suppress(psutil.Error):
            family = [*self._ps.children(recursive=True), self._ps]
            for proc in family:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(family, timeout=3)


class _Run:
    """The state of one probe: checks so far and the step running now."""

    def __init__(self, target: Path, expected: set[str], smoke: bool, limits: Limits) -> None:
        self.target, self.expected, self.smoke, self.limits = target, expected, smoke, limits
        self.checks: list[Check] = []
        self.step, self.required, self.t0 = "initialize", True, time.monotonic()
        self.name: str | None = None
        self.framework: str | None = None
        self.version: str | None = None
        self.tools: list[str] = []
        self.stray: list[str] = []
        self.started_in: float | None = None

    def begin(self, step: str, required: bool = True) -> None:
        self.step, self.required, self.t0 = step, required, time.monotonic()

    def done(self, ok: bool, detail: str, *, required: bool | None = None) -> None:
        req = self.required if required is None else required
        self.checks.append(Check(self.step, req, ok, detail, time.monotonic() - self.t0))

    async def talk(self, session: Any, watch: _Watch) -> None:
        self.begin("initialize")
        with anyio.fail_after(self.limits.start):
            init = await session.initialize()
        self.started_in = time.monotonic() - watch.launched
        self.version = _state_version(self.target, watch.process.pid)
        info = _attr(init, "server_info", "serverInfo")
        self.name, self.framework = _attr(info, "name"), _attr(info, "version")
        protocol = _attr(init, "protocol_version", "protocolVersion")
        self.done(
            True,
            f"{self.name} answered after {self.started_in:.1f}s "
            f"(version {self.framework}, protocol {protocol})",
        )
        self.begin("tools/list")
        with anyio.fail_after(self.limits.call):
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
            with anyio.fail_after(self.limits.call):
                result = await session.call_tool(tool, args)
            text = " ".join(str(_attr(c, "text") or "") for c in (_attr(result, "content") or []))
            failed = bool(_attr(result, "is_error", "isError"))
            if tool == "get_server_info" and not failed:
                self.version = _reported_version(text) or self.version
            self.done(not failed, ("tool error: " if failed else "") + text[:300])


def _reported_version(text: str) -> str | None:
    """The version in ``get_server_info``'s JSON answer (``version`` or ``server.version``)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    server = data.get("server")
    found = data.get("version") or (server.get("version") if isinstance(server, dict) else None)
    return str(found) if found else None


def _stderr_tail(errlog: IO[str]) -> str:
    with contextlib.suppress(OSError, ValueError):
        errlog.flush()
        errlog.seek(0)
        return errlog.read()[-800:].strip()
    return ""


@contextlib.asynccontextmanager
async def _streams(process: Process, stray: list[str]) -> AsyncIterator[tuple[Any, Any]]:
    """MCP message streams over the server's stdin/stdout, as the SDK's ``stdio_client`` makes
    them, for a process the probe owns. Lines on stdout that are not JSON-RPC (a library that
    prints) are kept in `stray` and skipped, as tolerant clients do."""
    from anyio.streams.text import TextReceiveStream
    from mcp import types
    from mcp.shared.message import SessionMessage

    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    read_writer, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, write_reader = anyio.create_memory_object_stream[Any](0)

    async def read() -> None:
        async with read_writer:
            buffer = ""
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                async for chunk in TextReceiveStream(stdout, errors="replace"):
                    lines = (buffer + chunk).split("\n")
                    buffer = lines.pop()
                    for line in lines:
                        if not line.strip():
                            continue
                        try:
                            message = types.jsonrpc_message_adapter.validate_json(line)
                        except ValueError:
                            stray.append(line.strip()[:200])
                            continue
                        await read_writer.send(SessionMessage(message))

    async def write() -> None:
        async with write_reader:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                async for item in write_reader:
                    data = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await stdin.send((data + "\n").encode())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(write)
        try:
            yield read_stream, write_stream
        finally:
            tg.cancel_scope.cancel()


async def _show_progress(watch: _Watch, run: _Run, progress: Progress | None) -> None:
    """While the server has not answered ``initialize``: look at it every few seconds."""
    while run.started_in is None:
        await anyio.sleep(WATCH_EVERY)
        state = watch.look()
        if progress is not None and run.started_in is None:
            waited = time.monotonic() - watch.launched
            progress(f"waiting for the server to answer: {waited:.0f} s, {state}")


def _timed_out(run: _Run, watch: _Watch, tail: str) -> str:
    """Why no answer came within the limit: exited, still working, or hung."""
    limit = run.limits.start if run.step == "initialize" else run.limits.call
    state = watch.look()
    if watch.returncode is not None:
        return _exited(watch.returncode, tail)
    if run.step == "initialize" and watch.busy:
        return (
            f"no answer within {limit:g}s, but the server is not hung ({state}): it is slower "
            f"to start than the limit; raise it with --validate-timeout SECONDS (or "
            f"{TIMEOUT_ENV})"
        )
    return f"no answer within {limit:g}s: the server hangs ({state}); it was killed" + (
        f"\nserver stderr:\n{tail}" if tail else ""
    )


def _exited(code: int, tail: str) -> str:
    return f"the server exited with code {code} before answering" + (
        f"\nserver stderr:\n{tail}" if tail else " (it wrote nothing on stderr)"
    )


async def _probe(
    run: _Run,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    errlog: IO[str],
    progress: Progress | None,
) -> None:
    # lazy on purpose: the MCP SDK is heavy (~0.8 s of imports) and only validation needs it
    from mcp import ClientSession

    try:
        process = await anyio.open_process(
            _spawn_argv(command), env=env, cwd=str(cwd), stderr=errlog, start_new_session=True
        )
    except OSError as exc:
        run.done(False, f"cannot start {command[0]}: {exc}")
        return
    watch = _Watch(process)
    try:
        async with _streams(process, run.stray) as (read, write):
            async with ClientSession(read, write) as session, anyio.create_task_group() as tg:
                tg.start_soon(_show_progress, watch, run, progress)
                try:
                    await run.talk(session, watch)
                finally:
                    tg.cancel_scope.cancel()
    except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a failed check
        err = _leaf(exc)
        if isinstance(err, TimeoutError):
            run.done(False, _timed_out(run, watch, _stderr_tail(errlog)))
            return
        with anyio.move_on_after(2):  # a server that died: let its exit code arrive
            while watch.returncode is None:
                await anyio.sleep(0.02)
        tail = _stderr_tail(errlog)
        if watch.returncode is not None and run.step == "initialize":
            run.done(False, _exited(watch.returncode, tail))
        else:
            run.done(
                False,
                f"{type(err).__name__}: {err}" + (f"\nserver stderr:\n{tail}" if tail else ""),
            )
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(process, watch)


async def _stop(process: Process, watch: _Watch) -> None:
    """End the probe server: close its stdin (a clean MCP shutdown), then kill what is left."""
    assert process.stdin is not None
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    with anyio.move_on_after(2):
        while process.returncode is None:
            await anyio.sleep(0.02)
    watch.kill_tree()
    with anyio.move_on_after(3):
        await process.wait()


def _save_state(target: Path) -> bytes | None:
    """The running server's state file before the probe (also kept on disk until it is back)."""
    _recover_state(target)  # a probe killed with this tool: its saved file goes back first
    path = target / STATE_FILE
    before = path.read_bytes() if path.exists() else None
    saved = Store(target).probe_saved_state
    saved.parent.mkdir(parents=True, exist_ok=True)
    fs.atomic_write_json(saved, {"before": before.decode("utf-8", "replace") if before else None})
    return before


def _recover_state(target: Path) -> None:
    saved = Store(target).probe_saved_state
    if not saved.exists():
        return
    with contextlib.suppress(OSError, ValueError):
        text = fs.read_json(saved).get("before")
        _restore_state(target, text.encode() if isinstance(text, str) else None)
    saved.unlink(missing_ok=True)


def _restore_state(target: Path, before: bytes | None) -> None:
    """Put the running server's state file back (when the server it names is alive), or remove
    the one the probe server left behind."""
    path = target / STATE_FILE
    with contextlib.suppress(OSError, ValueError):
        now = path.read_bytes() if path.exists() else None
        if before is not None and now != before:
            info = json.loads(before)
            if isinstance(info.get("pid"), int) and alive(info["pid"]):
                fs.atomic_write_bytes(path, before, mode=0o600)
            elif now is not None:
                _drop_if_dead(target)
        elif before is None and now is not None:
            _drop_if_dead(target)
    Store(target).probe_saved_state.unlink(missing_ok=True)


def _drop_if_dead(target: Path) -> None:
    left = ServerInfo.read(target)
    if left is not None and not alive(left.pid):
        (target / STATE_FILE).unlink()


def _state_version(target: Path, pid: int) -> str | None:
    """The version the probe server (`pid`) wrote into its state file, if it wrote one."""
    with contextlib.suppress(OSError, ValueError):
        info = ServerInfo.read(target)
        if info is not None and info.pid == pid and info.version:
            return info.version
    return None


def resolve_limits(start: float | None = None, settings: Mapping[str, Any] | None = None) -> Limits:
    """The start limit from (first found) the option, ``$PRAXIS_UPGRADE_VALIDATE_TIMEOUT``, the
    install's setting ``validate_timeout``, or the default.

    Raises:
        TargetError: the environment variable or the setting is not a positive number.
    """
    if start is not None:
        return Limits(start=float(start))
    for where, raw in (
        (TIMEOUT_ENV, os.environ.get(TIMEOUT_ENV)),
        ("the install's setting validate_timeout", (settings or {}).get("validate_timeout")),
    ):
        if raw in (None, ""):
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = 0.0
        if value <= 0:
            raise TargetError(
                f"{where} is {raw!r}, not a number of seconds",
                hint="set it to a positive number, e.g. 300",
            )
        return Limits(start=value)
    return Limits()


def probe_server(
    target: Path,
    *,
    expected: set[str],
    smoke: bool = True,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ProbeResult:
    """Start ``target``'s server over stdio from its venv and validate it through MCP.

    Args:
        target: the ``.praxis-os`` directory.
        expected: tool names this version defines (see ``toolnames.expected_tools``).
        smoke: also call a few tools.
        limits: seconds to answer ``initialize``, and each call after it.
        env: extra environment for the server, over ours (as an IDE passes its own, e.g. API
            keys for an ``openai`` embedding provider) minus variables that would point it at
            another Python or project.
        progress: called with a line every few seconds while the server starts.

    Returns:
        The checks (never raises for a broken server; ``result.ok`` tells).
    """

    started = time.monotonic()
    run = _Run(target, set(expected), smoke, limits or Limits())
    try:
        command = launch_command(target)
    except TargetError as exc:
        run.done(False, f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        return ProbeResult(run.checks, time.monotonic() - started, [])
    inherited = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    full_env = {
        **inherited,
        **dict(env or {}),
        "PYTHONPATH": str(target),
        "PYTHONUNBUFFERED": "1",
        TOKEN_VAR: "1",
        "PRAXIS_UPGRADE_PROBE_PARENT": str(os.getpid()),
    }
    before = _save_state(target)
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            anyio.run(_probe, run, command, full_env, target.parent, errlog, progress)
        finally:
            _restore_state(target, before)
    if run.stray:
        run.begin("stdout", required=False)
        run.done(
            False,
            f"the server printed {len(run.stray)} line(s) on stdout that are not MCP "
            f"(skipped; strict clients may fail on them): {run.stray[0]!r}",
        )
    return ProbeResult(
        run.checks,
        time.monotonic() - started,
        command,
        run.name,
        run.version,
        run.tools,
        run.framework,
        run.started_in,
    )
