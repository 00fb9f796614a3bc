"""`praxis-upgrade mcp`: the upgrade as MCP tools for AI assistants, on the same engine.

Upgrades, dry runs and rollbacks started here run in a detached process, so when the IDE restarts
this server (or the praxis server) they go on; their state is read back by id from the session
file, or from the run's log and its launch record (``<id>.mcp.json`` beside the log) while there
is none. A tool's failure is a tool result with ``isError: true`` whose text is
``{"ok": false, "error", "hint", "kind"}``; the hint speaks of the tools' arguments.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import psutil
from pydantic import Field, WithJsonSchema

from praxis_upgrade import __version__
from praxis_upgrade.content.vocab import Action, Klass, Policy, Word
from praxis_upgrade.engine import session as sess
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.status import get_status, session_state
from praxis_upgrade.engine.steps import PHASES
from praxis_upgrade.errors import (
    ConflictsError,
    ExitCode,
    LockedError,
    PraxisError,
    SourceError,
    StateError,
    TargetError,
    UserError,
)
from praxis_upgrade.integrations import spawn
from praxis_upgrade.source import targets
from praxis_upgrade.util import fs

CONFLICTS_SHOWN = 20  # conflict paths in a state; the rest: include_plan="conflicts"
ERRORS_SHOWN = 10
TEXT_CHARS = 1000  # one error message or hint, at most
PAGE_LIMIT, PAGE_LIMIT_MAX = 50, 200  # plan entries per page: default, most
PAGE_BYTES = 12_000  # a page of plan entries stops before this many bytes of JSON
SESSIONS_SHOWN, RUNS_SHOWN, IDS_IN_HINT = 20, 10, 5


class State(Word):
    """What `get_upgrade_state` says an upgrade, dry run or rollback is doing."""

    STARTING = "starting"  # launched: planning (phase 0), nothing written, no session file yet
    RUNNING = sess.RUNNING
    ROLLING_BACK = sess.ROLLING_BACK
    INTERRUPTED = sess.INTERRUPTED  # stopped midway: resume_upgrade or rollback_upgrade
    COMPLETED = sess.COMPLETED
    FAILED = sess.FAILED  # refused before writing anything, or the process ended without a result
    ROLLED_BACK = sess.ROLLED_BACK

    @property
    def busy(self) -> bool:
        """Still working: poll again."""
        return self in (State.STARTING, State.RUNNING, State.ROLLING_BACK)


class Kind(Word):
    """What a session id started here stands for."""

    UPGRADE = "upgrade"
    DRY_RUN = "dry-run"
    ROLLBACK = "rollback"


class Conflicts(Word):
    """The conflict policies an assistant may choose: every `Policy` but `prompt` (a detached
    run has no terminal to ask at)."""

    KEEP_LOCAL = Policy.KEEP_LOCAL.value
    TAKE_UPSTREAM = Policy.TAKE_UPSTREAM.value
    MERGE = Policy.MERGE.value
    FAIL = Policy.FAIL.value


class PlanView(Word):
    """Which entries of the plan `get_upgrade_state` pages through."""

    NONE = "none"
    CONFLICTS = "conflicts"
    CHANGES = "changes"  # entries that write or delete a file
    ALL = "all"


# -- the parameters, described for the assistant ---------------------------------------------------


def _inline(vocab: type[Word]) -> WithJsonSchema:
    """A vocabulary's schema written in place (`enum`), not as a `$ref` some clients cannot
    follow."""
    return WithJsonSchema({"type": "string", "enum": [w.value for w in vocab]})


TargetArg = Annotated[
    str,
    Field(
        description="Absolute path of the project folder that holds .praxis-os "
        "(or of the .praxis-os folder itself)."
    ),
]
SessionIdArg = Annotated[
    str,
    Field(
        description="An id returned by start_upgrade, resume_upgrade or rollback_upgrade, or "
        "listed by list_sessions (like 20250101-120000-1a2b3c)."
    ),
]
SourceArg = Annotated[
    str | None,
    Field(
        description="Absolute path of the praxis-os clone to upgrade from (the folder with "
        "universal/ and mcp_server/). Leave out to use the one remembered from the last "
        "successful upgrade of this install."
    ),
]
ConflictsArg = Annotated[
    Conflicts,
    _inline(Conflicts),
    Field(
        description="How files that both the user and upstream changed are settled: keep-local "
        "keeps the user's file and puts upstream's beside it as *.praxis-upstream; "
        "take-upstream writes upstream's (the user's stays in the backup); merge merges "
        "both, with conflict markers where they overlap; fail stops before writing anything "
        "if there is any conflict."
    ),
]
DryRunArg = Annotated[
    bool,
    Field(description="Only plan: read the plan back with get_upgrade_state; nothing is written."),
]
OptionalSessionIdArg = Annotated[
    str | None,
    Field(
        description="A session id from list_sessions; leave out for the default described above."
    ),
]
IncludePlanArg = Annotated[
    PlanView,
    _inline(PlanView),
    Field(
        description="Also return a page of the plan's entries (path, klass, action): none "
        "(default), conflicts, changes (entries that write or delete a file) or all."
    ),
]
OffsetArg = Annotated[
    int, Field(ge=0, description="With include_plan: the first entry of the page (0-based).")
]
LimitArg = Annotated[
    int,
    Field(
        ge=1,
        le=PAGE_LIMIT_MAX,
        description=f"With include_plan: entries per page (at most {PAGE_LIMIT_MAX}); a page "
        f"also stops before {PAGE_BYTES} bytes.",
    ),
]


# -- the tools ---------------------------------------------------------------------------------


def start_upgrade(
    target: TargetArg,
    source: SourceArg = None,
    conflicts: ConflictsArg = Conflicts.KEEP_LOCAL,
    dry_run: DryRunArg = False,
) -> dict[str, Any]:
    """Start upgrading the prAxIs OS install of the project at `target` from the praxis-os clone
    `source`, or only plan it (dry_run=true). Returns at once with a `session_id`; the run goes
    on in a process of its own, also if this server is restarted. Poll
    get_upgrade_state(target, session_id) every few seconds while its state is starting or
    running. Do a dry run first and show the user its counts and conflicts before upgrading.
    Refused while another session of the install is interrupted (resume or roll it back first).
    """
    praxis = _install(target)
    src = _source(praxis, source)
    policy = _policy(conflicts)
    if not dry_run:
        _refuse_if_busy(praxis)
    sid = sess.new_id()
    args = ["run", "--target", str(praxis), "--source", str(src), "--conflicts", str(policy)]
    args += ["--yes", "--no-downgrade", "--json", "--session-id", sid]
    args += ["--dry-run"] if dry_run else []
    kind = Kind.DRY_RUN if dry_run else Kind.UPGRADE
    return _started(praxis, target, sid, _launch(praxis, sid, args, kind), kind)


def get_upgrade_state(
    target: TargetArg,
    session_id: SessionIdArg,
    include_plan: IncludePlanArg = PlanView.NONE,
    offset: OffsetArg = 0,
    limit: LimitArg = PAGE_LIMIT,
) -> dict[str, Any]:
    """Read an upgrade, dry run or rollback back by its id, compactly. `state` is one of:
    starting (launched, planning; nothing written yet), running, rolling_back, interrupted
    (stopped midway: resume_upgrade or rollback_upgrade), completed (for a dry run: planned),
    failed (refused or ended without a result; see errors), rolled_back. Also: kind (upgrade,
    dry-run, rollback), phase (0 pre-flight .. 5 cleanup) and step, from_version/to_version,
    counts (files by class), conflicts (paths, the first few, with what was done), errors (with
    hints), rollback (what a rollback restored) and `next`: the calls that make sense now, with
    their arguments. The plan's entries come only with include_plan, one page at a time: call
    again with offset=next_offset until next_offset is null.
    """
    praxis = _install(target)
    run = _find(praxis, session_id)
    state = _compact(run, target)
    view = _view(include_plan)
    if view is not PlanView.NONE:
        state["plan"] = _plan_page(run.session, view, offset, limit)
    return state


def get_current_phase(target: TargetArg, session_id: SessionIdArg) -> dict[str, Any]:
    """Just the state, phase (0 pre-flight, 1 backup, 2 content, 3 server, 4 validation,
    5 cleanup) and step of an upgrade, dry run or rollback (see get_upgrade_state)."""
    state = get_upgrade_state(target, session_id)
    return {
        k: state[k] for k in ("ok", "session_id", "kind", "state", "phase", "phase_name", "step")
    }


def resume_upgrade(target: TargetArg, session_id: OptionalSessionIdArg = None) -> dict[str, Any]:
    """Continue an interrupted upgrade from its last completed step (or finish its interrupted
    rollback), detached like start_upgrade; without session_id, the newest interrupted one.
    Returns the session id to poll with get_upgrade_state."""
    praxis = _install(target)
    session = _interrupted(praxis, session_id)
    args = ["resume", session.id, "--target", str(praxis), "--json"]
    pid = _launch(praxis, session.id, args, Kind.UPGRADE)
    return _started(praxis, target, session.id, pid, Kind.UPGRADE)


def rollback_upgrade(target: TargetArg, session_id: OptionalSessionIdArg = None) -> dict[str, Any]:
    """Undo an upgrade from its backup, detached like start_upgrade: the session `session_id`,
    or without it the interrupted session if there is one, else the newest completed upgrade.
    Returns a new `session_id` for this rollback: get_upgrade_state reads its outcome (state
    rolled_back, or failed with the reason) and `rolled_back_session` names what was undone."""
    praxis = _install(target)
    if session_id is not None:
        _refuse_rolled_back(praxis, session_id)
    rid = sess.new_id()
    args = ["rollback", "--target", str(praxis), "--json"] + ([session_id] if session_id else [])
    pid = _launch(praxis, rid, args, Kind.ROLLBACK, of=session_id)
    return {**_started(praxis, target, rid, pid, Kind.ROLLBACK), "rolls_back": session_id}


def list_sessions(target: TargetArg) -> dict[str, Any]:
    """The install's version, remembered source and upgrade sessions (newest last, with their
    state), the interrupted ones, the dry runs and rollbacks started here (`runs`), and `next`.
    Call it first."""
    praxis = _install(target)
    status = get_status(praxis)
    sessions = [_short_session(s) for s in status["sessions"]]
    ids = {s["id"] for s in sessions}
    return {
        "ok": True,
        "install": str(praxis),
        "installed_version": status.get("installed_version"),
        "source": status.get("source"),
        "source_version": status.get("source_version"),
        "sessions": sessions[-SESSIONS_SHOWN:],
        "more_sessions": max(0, len(sessions) - SESSIONS_SHOWN),
        "interrupted": status["interrupted"],
        "runs": [r for r in _runs(praxis) if r["id"] not in ids][-RUNS_SHOWN:],
        "next": _next_for_install(target, status),
    }


# -- finding a run and saying where it is -----------------------------------------------------


@dataclasses.dataclass
class _Run:
    """One id read back: from its session file, or its run's printed result, or its launch."""

    id: str
    kind: Kind
    state: State
    session: dict[str, Any]  # the session's JSON; {} before there is one
    log: Path
    result: dict[str, Any] | None = None  # what the finished run printed (`--json`)
    error: dict[str, Any] | None = None  # why it failed: {message, hint, kind}


def _find(praxis: Path, session_id: str) -> _Run:
    """Read `session_id` back: its session file, else its run's result, else its launch."""
    store = sess.SessionStore(praxis)
    path = _session_path(store, session_id)
    log = spawn.log_path(praxis, session_id)
    launch = _read_launch(log)
    alive = _alive(launch)  # before the log: a run that ends meanwhile has printed its result
    result = _last_json(log)
    if path.exists():
        return _from_session(praxis, store.load(session_id), log, launch, alive, result)
    if result is not None:
        data = result.get("session") or {}
        kind = _kind(launch, data)
        return _Run(session_id, kind, _final_state(result), data, log, result, _failure(result))
    if launch is None and not log.exists():
        raise _unknown(praxis, session_id)
    kind = _kind(launch, {})
    if alive is False:
        return _Run(session_id, kind, State.FAILED, {}, log, error=_died(log))
    working = State.ROLLING_BACK if kind is Kind.ROLLBACK else State.STARTING
    return _Run(session_id, kind, working, {}, log)


def _from_session(
    praxis: Path,
    session: sess.Session,
    log: Path,
    launch: dict[str, Any] | None,
    alive: bool | None,
    result: dict[str, Any] | None,
) -> _Run:
    state = State(session_state(session, UpgradeLock(praxis).holder()))
    if state is State.INTERRUPTED and alive:  # a resume launched here, taking the lock
        state = State.RUNNING
    data = session.to_json()
    error = None if state.busy else _failure(result)  # a busy run's log ends in an older result
    return _Run(session.id, _kind(launch, data), state, data, log, result, error)


def _session_path(store: sess.SessionStore, session_id: str) -> Path:
    try:
        return store.path(session_id)
    except StateError:
        raise StateError(
            f"{session_id!r} is not a session id",
            hint="pass a session_id that start_upgrade, resume_upgrade or rollback_upgrade "
            "returned (like 20250101-120000-1a2b3c); list_sessions(target) lists them",
        ) from None


def _unknown(praxis: Path, session_id: str) -> StateError:
    known = _known_ids(praxis)[-IDS_IN_HINT:]
    return StateError(
        f"no upgrade, dry run or rollback with id {session_id} in {praxis}",
        hint="list_sessions(target) lists this install's sessions and runs"
        + (f"; the newest ids: {', '.join(reversed(known))}" if known else "; it has none yet")
        + ". Is target the install the id was started on?",
    )


def _known_ids(praxis: Path) -> list[str]:
    """Every id this install can read back: session files and the logs of detached runs."""
    sessions, _ = sess.SessionStore(praxis).readable()
    logs = spawn.log_path(praxis, "x").parent
    ran = [p.stem for p in logs.glob("*.log")] if logs.is_dir() else []
    return sorted({s.id for s in sessions} | set(ran))


def _kind(launch: dict[str, Any] | None, session: dict[str, Any]) -> Kind:
    if launch is not None and launch.get("kind") in {k.value for k in Kind}:
        return Kind(launch["kind"])
    if session.get("kind") == Kind.ROLLBACK:
        return Kind.ROLLBACK
    return Kind.DRY_RUN if (session.get("options") or {}).get("dry_run") else Kind.UPGRADE


def _final_state(result: dict[str, Any]) -> State:
    """The state a finished run printed: its session's status, or failed (refused, no session)."""
    status = (result.get("session") or {}).get("status")
    try:
        return State(status) if status else State.FAILED
    except ValueError:
        return State.FAILED


def _failure(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The error a run printed, with the hint said in tools where the engine's names a command."""
    if result is None or result.get("ok", True) or not result.get("error"):
        return None
    kind = result.get("kind")
    return _problem(result["error"], _TOOL_HINTS.get(str(kind), result.get("hint")), kind)


_TOOL_HINTS = {
    ConflictsError.__name__: "plan again with start_upgrade(target, source, dry_run=true) and "
    "conflicts keep-local, take-upstream or merge; get_upgrade_state(target, session_id, "
    "include_plan='conflicts') of that dry run lists the conflicting files",
    LockedError.__name__: "another upgrade holds this install: list_sessions(target) names it; "
    "poll it with get_upgrade_state until it ends",
}


def _died(log: Path) -> dict[str, Any]:
    err = log.with_suffix(".err")
    tail = (
        err.read_text(encoding="utf-8", errors="replace").splitlines()[-5:] if err.exists() else []
    )
    return _problem(
        "the process ended without printing a result",
        "its last lines on stderr: " + " | ".join(tail) if tail else f"see {err}",
        "Exited",
    )


def _last_json(log: Path) -> dict[str, Any] | None:
    """The result a finished `--json` run printed last (a resumed session's log holds one per
    process), or None while it runs or is still printing it."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    starts = [m.start() for m in re.finditer(r"^\{", text, re.MULTILINE)]
    if not starts:
        return None
    try:
        data, end = json.JSONDecoder().raw_decode(text, starts[-1])
    except ValueError:
        return None
    return data if isinstance(data, dict) and not text[end:].strip() else None


# -- launching -----------------------------------------------------------------------------------


def _launch(praxis: Path, run_id: str, args: list[str], kind: Kind, of: str | None = None) -> int:
    """Spawn ``praxis-upgrade ARGS`` detached, its stdout in the log of `run_id`, and record
    the launch beside it (so an id is known, and a process that dies is told from one that
    works)."""
    log = spawn.log_path(praxis, run_id)
    pid = spawn.spawn(args, log)
    record = {"kind": str(kind), "pid": pid, "started": _create_time(pid), "of": of}
    fs.atomic_write_json(_launch_file(log), record)
    return pid


def _launch_file(log: Path) -> Path:
    return log.with_suffix(".mcp.json")


def _read_launch(log: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_launch_file(log).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _alive(launch: dict[str, Any] | None) -> bool | None:
    """Whether the launched process still runs (None: not launched here, so unknown)."""
    if launch is None:
        return None
    try:
        proc = psutil.Process(int(launch["pid"]))
        started = launch.get("started")
        same = started is None or abs(proc.create_time() - float(started)) < 0.01
        return same and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def _started(praxis: Path, target: str, run_id: str, pid: int, kind: Kind) -> dict[str, Any]:
    return {
        "ok": True,
        "session_id": run_id,
        "kind": kind,
        "pid": pid,
        "log": str(spawn.log_path(praxis, run_id)),
        "next": [_poll(target, run_id)],
    }


# -- the compact state ---------------------------------------------------------------------------


def _compact(run: _Run, target: str) -> dict[str, Any]:
    results = run.session.get("results") or {}
    plan = {} if run.kind is Kind.ROLLBACK else results.get("plan") or {}
    phase = run.session.get("phase")
    out: dict[str, Any] = {
        "ok": True,
        "session_id": run.id,
        "kind": run.kind,
        "state": run.state,
        "phase": phase,
        "phase_name": PHASES.get(phase) if isinstance(phase, int) else None,
        "step": run.session.get("step") or None,
        "completed_steps": run.session.get("completed_steps") or [],
        "from_version": plan.get("from_version"),
        "to_version": plan.get("to_version"),
        "up_to_date": bool(plan.get("up_to_date")),
        "counts": plan.get("summary") or {},
        "conflicts": _conflicts(plan, results),
        "errors": _errors(run, plan),
        "backup": (results.get("backup") or {}).get("id"),
        "reports": results.get("reports") or [],
        "log": str(run.log),
        "next": _next(run, target, plan),
    }
    if run.kind is Kind.ROLLBACK:
        out["rolled_back_session"] = run.session.get("id")
        out["version"] = (run.result or {}).get("version")
        out["rollback"] = _rollback_summary(results.get("rollback") or {})
    return out


def _conflicts(plan: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The conflicting paths (the first few) and what was done with each, once decided."""
    paths = list(plan.get("conflicts") or [])
    done = _decisions(results)
    shown = [{"path": p, "result": done.get(p)} for p in paths[:CONFLICTS_SHOWN]]
    return {"total": len(paths), "shown": shown, "more": len(paths) - len(shown)}


def _decisions(results: dict[str, Any]) -> dict[str, str | None]:
    return {
        d["path"]: d.get("result")
        for step in ("content", "server.code")
        for d in (results.get(step) or {}).get("decisions") or []
        if isinstance(d, dict) and "path" in d
    }


def _errors(run: _Run, plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [run.error] if run.error else []
    said = run.session.get("error")
    if said and not any(said in e["message"] for e in found):
        found.append(_problem(said, None, None))
    if (run.result or {}).get("exit_code") == ExitCode.CONFLICTS and run.session:
        found.append(
            _problem(
                "conflicts are left for the user to settle",
                "edit the files under conflicts whose result is conflict-markers or skipped",
                ConflictsError.__name__,
            )
        )
    problems = (plan.get("plan") or {}).get("problems") or []
    found += [_problem(p, None, "plan-problem") for p in problems]
    return found[:ERRORS_SHOWN]


def _problem(message: str, hint: str | None, kind: str | None) -> dict[str, Any]:
    return {"message": _clip(message), "hint": _clip(hint) if hint else None, "kind": kind}


def _clip(text: str) -> str:
    text = str(text)
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def _rollback_summary(result: dict[str, Any]) -> dict[str, Any]:
    counted = ("restored", "removed", "kept_user_files")
    listed = ("unrestorable", "displaced")
    return {
        "complete": result.get("complete"),
        "message": _clip(result.get("message") or ""),
        **{k: len(result.get(k) or []) for k in counted},
        **{k: (result.get(k) or [])[:CONFLICTS_SHOWN] for k in listed},
    }


# -- what to call next ----------------------------------------------------------------------------


def _call(tool: str, why: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments, "why": why}


def _poll(target: str, run_id: str) -> dict[str, Any]:
    return _call(
        "get_upgrade_state",
        "poll every few seconds while state is starting, running or rolling_back",
        target=target,
        session_id=run_id,
    )


def _next(run: _Run, target: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
    if run.state.busy:
        return [_poll(target, run.id)]
    if run.state is State.INTERRUPTED:
        return _interrupted_calls(target, run.id)
    if run.kind is Kind.DRY_RUN and run.state is State.COMPLETED:
        return _after_dry_run(run, target, plan)
    if (
        run.kind is Kind.UPGRADE
        and run.state is State.COMPLETED
        and plan
        and not plan.get("up_to_date")
    ):
        why = "only if the user wants this upgrade undone"
        return [_call("rollback_upgrade", why, target=target, session_id=run.id)]
    kind = (run.error or {}).get("kind")
    if kind == LockedError.__name__:
        return [_call("list_sessions", "another upgrade holds the install: poll it", target=target)]
    if kind == ConflictsError.__name__ and run.state is State.FAILED:
        why = "conflicts=fail met conflicts: plan again with source and another conflicts policy"
        return [_call("start_upgrade", why, target=target, dry_run=True)]
    return []


def _after_dry_run(run: _Run, target: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
    if plan.get("up_to_date"):
        return []
    calls = []
    if plan.get("conflicts"):
        why = "read the conflicting paths and agree the conflicts policy with the user"
        calls.append(
            _call(
                "get_upgrade_state", why, target=target, session_id=run.id, include_plan="conflicts"
            )
        )
    why = "upgrade as planned, once the user agrees"
    calls.append(_call("start_upgrade", why, **_rerun(run, target), dry_run=False))
    return calls


def _rerun(run: _Run, target: str) -> dict[str, Any]:
    """start_upgrade's arguments for the run this one was."""
    args: dict[str, Any] = {"target": target}
    if run.session.get("source"):
        args["source"] = run.session["source"]
    policy = (run.session.get("options") or {}).get("conflicts")
    if policy in {c.value for c in Conflicts}:
        args["conflicts"] = policy
    return args


def _interrupted_calls(target: str, session_id: str) -> list[dict[str, Any]]:
    return [
        _call(
            "resume_upgrade",
            "continue from the last completed step",
            target=target,
            session_id=session_id,
        ),
        _call(
            "rollback_upgrade", "or undo it from its backup", target=target, session_id=session_id
        ),
    ]


def _next_for_install(target: str, status: dict[str, Any]) -> list[dict[str, Any]]:
    if status["interrupted"]:
        return _interrupted_calls(target, status["interrupted"][-1])
    args: dict[str, Any] = {"target": target, "dry_run": True}
    if status.get("source"):
        args["source"] = status["source"]
    why = "plan an upgrade" + (
        "" if status.get("source") else " (pass source: the praxis-os clone)"
    )
    return [_call("start_upgrade", why, **args)]


# -- the plan, a page at a time ------------------------------------------------------------------


def _plan_page(session: dict[str, Any], view: PlanView, offset: int, limit: int) -> dict[str, Any]:
    """Entries of the plan in `view`, from `offset`: at most `limit`, and fewer when they would
    take more than PAGE_BYTES of JSON."""
    results = session.get("results") or {}
    entries = ((results.get("plan") or {}).get("plan") or {}).get("entries") or []
    chosen = [e for e in entries if _in_view(e, view)]
    done = _decisions(results)
    page: list[dict[str, Any]] = []
    size = 0
    for e in chosen[offset : offset + min(limit, PAGE_LIMIT_MAX)]:
        row = {"path": e.get("path"), "klass": e.get("klass"), "action": e.get("action")}
        if e.get("path") in done:
            row["result"] = done[e["path"]]
        size += len(_dumps(row).encode()) + 1  # and its comma
        if size > PAGE_BYTES and page:
            break
        page.append(row)
    end = offset + len(page)
    return {
        "view": view,
        "total": len(chosen),
        "offset": offset,
        "entries": page,
        "next_offset": end if end < len(chosen) else None,
    }


def _in_view(entry: dict[str, Any], view: PlanView) -> bool:
    if view is PlanView.CONFLICTS:
        return Klass.conflicting(entry.get("klass"))
    if view is PlanView.CHANGES:
        try:
            return Action(entry.get("action")).writes
        except ValueError:
            return False
    return view is PlanView.ALL


# -- checks that speak to the assistant ----------------------------------------------------------


def _install(target: str) -> Path:
    try:
        return targets.require_install(Path(target))
    except TargetError as e:
        raise TargetError(
            e.message,
            hint="pass target: the absolute path of a project folder that holds .praxis-os",
        ) from None


def _source(praxis: Path, source: str | None) -> Path:
    try:
        return targets.resolve_source(praxis, source)
    except SourceError as e:
        raise SourceError(
            e.message,
            hint="pass source: the absolute path of a praxis-os clone (the folder with "
            "universal/ and mcp_server/); it is remembered after a successful upgrade",
        ) from None


def _policy(value: str) -> Conflicts:
    try:
        return Conflicts(str(value))
    except ValueError:
        raise UserError(
            f"conflict policy {value!r} is not allowed here",
            hint="pass conflicts: " + ", ".join(c.value for c in Conflicts),
        ) from None


def _view(value: str) -> PlanView:
    try:
        return PlanView(str(value))
    except ValueError:
        raise UserError(
            f"include_plan {value!r} is not a view of the plan",
            hint="pass include_plan: " + ", ".join(v.value for v in PlanView),
        ) from None


def _load(praxis: Path, session_id: str) -> sess.Session:
    store = sess.SessionStore(praxis)
    if not _session_path(store, session_id).exists():
        raise _unknown(praxis, session_id)
    return store.load(session_id)


def _refuse_if_busy(praxis: Path) -> None:
    """An upgrade is refused while another session is open; say so now, with what to call."""
    holder = UpgradeLock(praxis).holder()
    for session in sess.SessionStore(praxis).open_sessions():
        if session_state(session, holder) == sess.INTERRUPTED:
            raise UserError(
                f"upgrade session {session.id} was interrupted in phase {session.phase} "
                f"({PHASES.get(session.phase)}, step {session.step or '-'})",
                hint=f"first call resume_upgrade(target, session_id={session.id!r}) or "
                f"rollback_upgrade(target, session_id={session.id!r})",
            )
        raise LockedError(
            f"upgrade session {session.id} is running on this install",
            hint=f"poll get_upgrade_state(target, session_id={session.id!r}) until it ends",
        )


def _interrupted(praxis: Path, session_id: str | None) -> sess.Session:
    holder = UpgradeLock(praxis).holder()
    if session_id is None:
        open_ = [
            s
            for s in sess.SessionStore(praxis).open_sessions()
            if session_state(s, holder) == sess.INTERRUPTED
        ]
        if not open_:
            raise StateError(
                "no interrupted session to resume",
                hint="list_sessions(target) shows the sessions; start one with start_upgrade",
            )
        return open_[-1]
    session = _load(praxis, session_id)
    state = session_state(session, holder)
    if state != sess.INTERRUPTED:
        busy = state in sess.OPEN
        raise StateError(
            f"session {session.id} is {state}; there is nothing to resume",
            hint=f"poll get_upgrade_state(target, session_id={session.id!r})"
            if busy
            else "list_sessions(target) shows which sessions are interrupted",
        )
    return session


def _refuse_rolled_back(praxis: Path, session_id: str) -> None:
    session = _load(praxis, session_id)
    if session.status == sess.ROLLED_BACK:
        raise StateError(
            f"session {session.id} is already rolled back",
            hint=f"get_upgrade_state(target, session_id={session.id!r}) shows it; "
            "list_sessions(target) shows the others",
        )


def _short_session(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "state", "phase", "step", "created_at")
    return {**{k: s.get(k) for k in keys}, "error": _clip(s["error"]) if s.get("error") else None}


def _runs(praxis: Path) -> list[dict[str, Any]]:
    """Dry runs and rollbacks launched here (they have no session file of their own)."""
    logs = spawn.log_path(praxis, "x").parent
    out = []
    for path in sorted(logs.glob("*.mcp.json")) if logs.is_dir() else []:
        run_id = path.name.split(".")[0]
        launch = _read_launch(spawn.log_path(praxis, run_id))
        if launch is not None:
            out.append({"id": run_id, "kind": launch.get("kind")})
    return out


# -- the server ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToolSpec:
    """One tool: its function (whose docstring is the description) and its MCP annotations."""

    fn: Callable[..., dict[str, Any]]
    title: str
    read_only: bool
    idempotent: bool


TOOLS = (
    ToolSpec(list_sessions, "List upgrade sessions", read_only=True, idempotent=True),
    ToolSpec(start_upgrade, "Start an upgrade or a dry run", read_only=False, idempotent=False),
    ToolSpec(get_upgrade_state, "Read an upgrade's state", read_only=True, idempotent=True),
    ToolSpec(get_current_phase, "Read an upgrade's phase", read_only=True, idempotent=True),
    ToolSpec(resume_upgrade, "Resume an interrupted upgrade", read_only=False, idempotent=False),
    ToolSpec(rollback_upgrade, "Roll an upgrade back", read_only=False, idempotent=False),
)

INSTRUCTIONS = (
    "Upgrade an installed prAxIs OS safely. Call list_sessions(target) first, then plan with "
    "start_upgrade(target, source, dry_run=true), poll get_upgrade_state(target, session_id) "
    "and follow its `next`. Every upgrade is backed up and rolled back on failure."
)


def build_server() -> Any:
    """The MCP server object (official SDK) exposing :data:`TOOLS`; a failure is a result with
    ``isError: true``."""
    # lazy on purpose: the MCP SDK is heavy and only `praxis-upgrade mcp` serves it
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer("praxis-upgrade", version=__version__, instructions=INSTRUCTIONS)
    for spec in TOOLS:
        server.add_tool(
            _as_tool(spec.fn),
            name=spec.fn.__name__,
            title=spec.title,
            description=inspect.cleandoc(spec.fn.__doc__ or spec.fn.__name__),
            annotations=ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=not spec.read_only,
                idempotent_hint=spec.idempotent,
                open_world_hint=False,
            ),
            structured_output=False,
        )
    return server


def _as_tool(fn: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`fn` answering as an MCP tool: its dict as compact JSON text, a domain error as an
    ``isError`` result carrying the error's message, hint and kind."""
    from mcp.types import CallToolResult, TextContent

    def answer(data: dict[str, Any], *, is_error: bool) -> CallToolResult:
        body = TextContent(type="text", text=_dumps(data))
        return CallToolResult(content=[body], is_error=is_error)

    @functools.wraps(fn)
    def tool(**kwargs: Any) -> CallToolResult:
        try:
            return answer(fn(**kwargs), is_error=False)
        except PraxisError as e:
            return answer(_error(e), is_error=True)

    return tool


def _dumps(data: Any) -> str:
    """JSON as the tools send it: compact, for the assistant's context."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def _error(e: PraxisError) -> dict[str, Any]:
    return {"ok": False, "error": e.message, "hint": e.hint, "kind": type(e).__name__}
