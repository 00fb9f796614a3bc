"""`praxis-upgrade mcp`: the upgrade as MCP tools for AI assistants, on the same engine.

Upgrades started here run in a detached process, so when the IDE restarts this server (or the
praxis server) the upgrade goes on; its state is read back from the session file by id.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine import session
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.status import get_status, session_state
from praxis_upgrade.errors import PraxisError, StateError
from praxis_upgrade.integrations import spawn
from praxis_upgrade.source import targets


def _error(e: PraxisError) -> dict[str, Any]:
    return {"ok": False, "error": e.message, "hint": e.hint, "kind": type(e).__name__}


def start_upgrade(
    target: str, source: str | None = None, conflicts: str = "keep-local", dry_run: bool = False
) -> dict[str, Any]:
    """Start an upgrade of the project at `target` from the praxis-os clone `source` \
(remembered if omitted).

    Runs detached from this server; returns the session id to poll with get_upgrade_state.
    conflicts: keep-local (default) | take-upstream | merge | fail.
    """
    praxis = targets.require_install(Path(target))
    src = targets.resolve_source(praxis, source)
    if conflicts not in {p.value for p in Policy} - {Policy.PROMPT.value}:  # nobody to ask
        raise StateError(
            f"conflict policy {conflicts!r} is not allowed here",
            hint="use keep-local, take-upstream, merge or fail",
        )
    sid = session.new_id()
    args = [
        "run",
        "--target",
        str(praxis),
        "--source",
        str(src),
        "--conflicts",
        conflicts,
        "--yes",
        "--json",
        "--session-id",
        sid,
    ]
    if dry_run:
        args.append("--dry-run")
    log = spawn.log_path(praxis, sid)
    pid = spawn.spawn(args, log)
    return {
        "ok": True,
        "session_id": sid,
        "pid": pid,
        "log": str(log),
        "next": "poll get_upgrade_state(target, session_id) until state is final",
    }


def get_upgrade_state(target: str, session_id: str) -> dict[str, Any]:
    """State of one upgrade session: running / interrupted / completed / failed / rolled_back, \
phase, step."""
    praxis = targets.require_install(Path(target))
    store = session.SessionStore(praxis)
    log = spawn.log_path(praxis, session_id)
    if not store.path(session_id).exists():
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        result = _last_json(text)
        if (
            result is not None
        ):  # finished without a session file: refused in pre-flight, or a dry run
            return {"ok": True, "session_id": session_id, "state": "finished", "result": result}
        return {
            "ok": True,
            "session_id": session_id,
            "state": "starting",
            "log": str(log),
            "stderr": str(log.with_suffix(".err")),
        }
    s = store.load(session_id)
    return {
        "ok": True,
        "session_id": s.id,
        "state": session_state(s, UpgradeLock(praxis).holder()),
        "phase": s.phase,
        "step": s.step,
        "completed_steps": s.completed_steps,
        "error": s.error,
        "plan_summary": (s.results.get("plan") or {}).get("summary"),
        "log": str(log),
        "reports": s.results.get("reports", []),
    }


def get_current_phase(target: str, session_id: str) -> dict[str, Any]:
    """Just the phase (0-5), step and state of a session."""
    state = get_upgrade_state(target, session_id)
    return {k: state.get(k) for k in ("ok", "session_id", "state", "phase", "step")}


def resume_upgrade(target: str, session_id: str | None = None) -> dict[str, Any]:
    """Continue an interrupted session (the newest one if no id is given), \
detached from this server."""
    praxis = targets.require_install(Path(target))
    sid = session_id or _newest_open(praxis)
    pid = spawn.spawn(
        ["resume", sid, "--target", str(praxis), "--json"], spawn.log_path(praxis, sid)
    )
    return {"ok": True, "session_id": sid, "pid": pid}


def rollback_upgrade(target: str, session_id: str | None = None) -> dict[str, Any]:
    """Undo an interrupted or finished session from its backup, detached from this server."""
    praxis = targets.require_install(Path(target))
    args = ["rollback", "--target", str(praxis), "--json"] + ([session_id] if session_id else [])
    sid = session_id or "rollback-" + session.new_id()
    pid = spawn.spawn(args, spawn.log_path(praxis, sid))
    return {"ok": True, "session_id": session_id, "pid": pid}


def list_sessions(target: str) -> dict[str, Any]:
    """Every upgrade session of the install at `target`, with its state, \
and the installed version."""
    status = get_status(Path(target))
    return {
        "ok": True,
        "sessions": status["sessions"],
        "installed_version": status.get("installed_version"),
    }


def _newest_open(praxis: Path) -> str:
    open_ = session.SessionStore(praxis).open_sessions()
    if not open_:
        raise StateError("no interrupted session to resume", hint="start one with start_upgrade")
    return open_[-1].id


def _last_json(text: str) -> Any:
    """The JSON object a finished `--json` run printed, or None while it runs."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


TOOLS = (
    start_upgrade,
    get_upgrade_state,
    get_current_phase,
    resume_upgrade,
    rollback_upgrade,
    list_sessions,
)


def build_server() -> Any:
    """The MCP server object (official SDK) exposing :data:`TOOLS`; errors come back as data."""
    # lazy on purpose: the MCP SDK is heavy and only `praxis-upgrade mcp` serves it
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        "praxis-upgrade",
        instructions="Upgrade an installed prAxIs OS safely. Start with "
        "list_sessions(target), then start_upgrade(target, source) and poll get_upgrade_state.",
    )
    for fn in TOOLS:

        @functools.wraps(fn)
        def tool(*args: Any, __fn: Any = fn, **kwargs: Any) -> dict[str, Any]:
            try:
                return __fn(*args, **kwargs)  # type: ignore[no-any-return,unused-ignore]
            except PraxisError as e:
                return _error(e)

        server.tool(name=fn.__name__, description=(fn.__doc__ or fn.__name__).strip())(tool)
    return server
