"""The engine: runs the phases in order, saves the session after every step, owns rollback."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pluggy

from praxis_upgrade.backups.catalog import find_backup, fmt_bytes, list_backups
from praxis_upgrade.content.merge import has_markers
from praxis_upgrade.content.vocab import Klass, Policy
from praxis_upgrade.engine import history, registry
from praxis_upgrade.engine import session as sess
from praxis_upgrade.engine.context import Context, Event, Options
from praxis_upgrade.engine.downgrade import is_downgrade
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.results import PlanResult, as_json
from praxis_upgrade.engine.steps import FINISH_PHASE, PHASES, ROLLBACK_PHASES, STEPS, Step
from praxis_upgrade.errors import (
    DiskFull,
    PluginError,
    PraxisError,
    PreflightError,
    RollbackError,
    RolledBack,
    StateError,
    StepFailed,
    Unfinished,
    UserError,
)
from praxis_upgrade.plugin.manager import culprit, get_plugin_manager
from praxis_upgrade.source import targets
from praxis_upgrade.store import Store
from praxis_upgrade.util import litter

ROLLBACK_FORCE = "rollback_force"  # saved with the session's options by `rollback --force`

Decide = Callable[[dict[str, Any]], str]
Events = Callable[[Event], None]


def run_upgrade(
    target: Path | str,
    *,
    source_path: Path | str | None = None,
    dry_run: bool = False,
    auto_restart: bool = True,
    skip_tests: bool = False,
    keep_backups: int = 3,
    keep_venvs: int = 1,
    validate_timeout: float | None = None,
    no_downgrade: bool = False,
    interactive_conflicts: bool = False,
    conflicts: str | None = None,
    assume_yes: bool = False,
    rev: str | None = None,
    fetch_history: bool = False,
    session_id: str | None = None,
    pm: pluggy.PluginManager | None = None,
    decide: Decide | None = None,
    events: Events | None = None,
    confirm: Callable[[dict[str, Any]], bool] | None = None,
) -> sess.Session:
    """Upgrade the install at ``target`` (a project or its ``.praxis-os``) from ``source_path``.

    Returns the finished session (``status`` completed, or a dry run's plan in ``results``).

    Raises:
        UserError: bad input; nothing was written.
        LockedError: another upgrade holds the lock.
        ConflictsError: policy ``fail`` met a conflict (found while planning; nothing written).
        RolledBack: phase 2-4 failed and every change was undone.
        RollbackError: phase 2-4 failed and the rollback could not restore everything.
    """
    praxis = targets.require_install(Path(target))
    policy = conflicts or (Policy.PROMPT if interactive_conflicts else Policy.KEEP_LOCAL)
    source = targets.resolve_source(praxis, source_path)
    options = Options(
        source_path=str(source),
        dry_run=dry_run,
        auto_restart=auto_restart,
        skip_tests=skip_tests,
        keep_backups=keep_backups,
        keep_venvs=keep_venvs,
        validate_timeout=validate_timeout,
        no_downgrade=no_downgrade,
        conflicts=policy,
        assume_yes=assume_yes,
        rev=rev,
        fetch_history=fetch_history,
    )
    pm = pm or get_plugin_manager()
    session = sess.Session(
        id=session_id or sess.new_id(),
        kind="upgrade",
        target=str(praxis),
        source=str(source),
        options=options.to_json(),
    )
    if dry_run:  # a dry run takes no lock and writes nothing, not even its session
        ctx = Context(praxis, options, session, pm.hook, None, decide, events)
        _drive(ctx, pm, last_phase=0)
        _mark_downgrade(ctx)
        session.status = sess.COMPLETED
        return session
    with _locked(praxis, session.id) as (store, _):
        _refuse_over_damaged(store, praxis)
        for other in store.open_sessions():
            raise UserError(
                f"upgrade session {other.id} was interrupted in phase {other.phase} "
                f"({PHASES[other.phase]}, step {other.step or '-'})",
                hint=f"finish it with `praxis-upgrade resume {other.id}` or undo it with "
                f"`praxis-upgrade rollback {other.id}`",
            )
        ctx = Context(
            praxis,
            options,
            session,
            pm.hook,
            store,
            decide,
            events,
            None if assume_yes else confirm,
        )
        return _run(ctx, pm)


def resume_upgrade(
    target: Path | str,
    session_id: str | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
    decide: Decide | None = None,
    events: Events | None = None,
    validate_timeout: float | None = None,
) -> sess.Session:
    """Continue an interrupted session from its last completed step (or finish its rollback).

    `validate_timeout` replaces the limit the session was started with (a server that was too
    slow for it).
    """
    praxis = targets.require_install(Path(target))
    with _locked(praxis, session_id or "resume") as (store, lock):
        _refuse_over_damaged(store, praxis)
        session = _pick_open(store, session_id, "resume")
        lock.retag(session.id)
        _clean_session_litter(session)
        if session.status == sess.RUNNING and session.source and not Path(session.source).is_dir():
            raise StateError(
                f"the source clone of session {session.id} is gone: {session.source}",
                hint="put the clone back there, "
                f"or undo the session with `praxis-upgrade rollback {session.id}`",
            )
        session.pid = os.getpid()
        if validate_timeout is not None:
            session.options["validate_timeout"] = validate_timeout
        pm = pm or get_plugin_manager()
        ctx = Context(
            praxis, Options.from_json(session.options), session, pm.hook, store, decide, events
        )
        ctx.emit("resume", session=session.id, phase=session.phase, step=session.step)
        if session.status == sess.ROLLING_BACK:
            _rollback(ctx, pm, session.error, force=bool(session.options.get(ROLLBACK_FORCE)))
            _report(ctx, pm)
            raise RolledBack(
                f"the interrupted rollback of session {session.id} was completed",
                hint="the install is back at its previous version",
            )
        return _run(ctx, pm)


def rollback_upgrade(
    target: Path | str,
    session_id: str | None = None,
    *,
    backup: str | None = None,
    force: bool = False,
    pm: pluggy.PluginManager | None = None,
    events: Events | None = None,
) -> sess.Session:
    """Undo an interrupted, failed or completed session, or restore a named backup.

    With no arguments: the open (interrupted) session if there is one, else the newest
    completed upgrade (going back one version).
    """
    praxis = targets.require_install(Path(target))
    with _locked(praxis, session_id or "rollback") as (store, lock):
        pm = pm or get_plugin_manager()
        for damaged, where, why in store.moved:  # the escape hatch is never blocked by them
            if events is not None:
                note = f"session {damaged}: {why}; moved to {where}"
                events({"event": "warning", "message": note})
        owner = (
            None
            if backup is None
            else next(
                (s for s in store.all() if (s.results.get("backup") or {}).get("id") == backup),
                None,
            )
        )
        if backup is not None and owner is None:  # a backup no session knows: restore it as it is
            session = sess.Session(
                id=sess.new_id(),
                kind="rollback",
                target=str(praxis),
                source=None,
                options={},
                results={"backup": {"id": backup}},
            )
        else:  # the session that made the backup knows what it wrote: its rollback is exact
            session = owner if owner is not None else _pick_rollback(store, session_id, praxis)
            _refuse_out_of_order(store, session)
        lock.retag(session.id)
        _clean_session_litter(session)
        previous, saved = session.status, store.path(session.id).exists()
        session.status = sess.ROLLING_BACK
        # asked once, `--force` holds until this rollback is done (a resume or retry keeps it)
        force = force or bool(session.options.get(ROLLBACK_FORCE))
        if force:
            session.options[ROLLBACK_FORCE] = True
        ctx = Context(
            praxis, Options.from_json(session.options), session, pm.hook, store, None, events
        )
        ctx.checkpoint()  # visible before the first restore: a killed rollback blocks new runs
        try:
            _rollback(ctx, pm, None, force=force)
        except UserError:  # refused before anything was restored (unknown or damaged backup)
            session.status = previous
            session.options.pop(ROLLBACK_FORCE, None)
            if saved:
                ctx.checkpoint()
            else:  # a rollback that never started leaves no session behind
                store.path(session.id).unlink(missing_ok=True)
            raise
        if backup is not None and owner is None:
            made = find_backup(praxis, backup)
            if made.session in store.quarantined():
                store.resolve_quarantined(made.session)
        _report(ctx, pm)
        return session


def rollback_to_version(
    target: Path | str,
    version: str,
    *,
    force: bool = False,
    pm: pluggy.PluginManager | None = None,
    events: Events | None = None,
) -> sess.Session:
    """Go back to `version` by rolling back the newer generations one by one, newest first.

    Returns the last rollback session. Raises StateError when no kept generation started from
    `version` (``praxis-upgrade history`` lists them).
    """
    praxis = targets.require_install(Path(target))
    chain = history.way_back(praxis, version)
    if not chain:
        known = sorted({g.from_version for g in history.reachable(praxis) if g.from_version})
        raise StateError(
            f"no completed upgrade of this install started from {version}",
            hint="`praxis-upgrade history` lists the generations"
            + (f"; versions to go back to: {', '.join(known)}" if known else ""),
        )
    session = None
    for session_id in chain:
        session = rollback_upgrade(praxis, session_id, force=force, pm=pm, events=events)
    assert session is not None
    return session


# -- internals ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(praxis: Path, holder: str) -> Iterator[tuple[sess.SessionStore, UpgradeLock]]:
    """Hold the install's upgrade lock for the block; yields its session store and the lock."""
    lock = UpgradeLock(praxis)
    lock.acquire(holder)
    try:
        _clean_own_litter(praxis)
        store = sess.SessionStore(praxis)
        store.moved = store.quarantine_damaged()
        yield store, lock
    finally:
        lock.release()


def _clean_own_litter(praxis: Path) -> None:
    """Temp files of this tool's own writes that a kill left (sessions, baseline, settings,
    blob cache, logs): with the lock held no write of ours is in flight, so all of them go."""
    store = Store(praxis)
    folders = [store.sessions, store.work, store.baseline.parent, store.root]
    if store.blobs.is_dir():
        folders += [p for p in store.blobs.iterdir() if p.is_dir()]
    if store.sessions.is_dir():
        folders += [p for p in store.sessions.glob("*.d") if p.is_dir()]
    for folder in folders:
        litter.drop_temp_files(folder)


def _clean_session_litter(session: sess.Session) -> None:
    """Temp files a kill left beside the files the session's plan writes (in the install and
    outside it): resume and rollback both start from a clean tree."""
    plan = session.results.get("plan") or {}
    praxis = Path(session.target)
    paths = [praxis / rel for rel in plan.get("touched") or []]
    litter.drop_temp_files_of(paths + [Path(p) for p in plan.get("outside") or []])


def _unfinished_backups(store: sess.SessionStore, praxis: Path) -> list[tuple[str, str]]:
    """(session id, backup id) of damaged sessions whose upgrade never finished: their backup
    was made but never marked good, so the install may hold half of that upgrade."""
    damaged = set(store.quarantined())
    return [
        (b.session, b.id)
        for b in list_backups(praxis)
        if b.complete and not b.good and b.session in damaged
    ]


def _refuse_over_damaged(store: sess.SessionStore, praxis: Path) -> None:
    """A run or resume never starts over what a damaged session may have left half-done."""
    moved = [f"  - {sid}: {why} (moved to {where})" for sid, where, why in store.moved]
    pending = _unfinished_backups(store, praxis)
    if not moved and not pending:
        return
    hint = (
        "restore the install exactly as it was before that upgrade: "
        + "; ".join(f"`praxis-upgrade rollback --to {b}`" for _, b in pending)
        if pending
        else "nothing was half-done: run the command again"
    )
    head = "damaged session files were moved aside" if moved else "a damaged session"
    detail = "\n".join(moved) or "\n".join(
        f"  - {sid}: an upgrade that never finished (backup {b})" for sid, b in pending
    )
    raise StateError(f"{head}; nothing was changed:\n{detail}", hint=hint)


def _pick_open(store: sess.SessionStore, session_id: str | None, verb: str) -> sess.Session:
    if session_id:
        session = store.load(session_id)
        if session.status not in sess.OPEN:
            raise StateError(
                f"session {session.id} is {session.status}; there is nothing to {verb}",
                hint="`praxis-upgrade status` lists sessions and their states",
            )
        return session
    open_ = store.open_sessions()
    if not open_:
        raise StateError(
            f"no interrupted session to {verb}", hint="start one with `praxis-upgrade run`"
        )
    return open_[-1]


def _pick_rollback(store: sess.SessionStore, session_id: str | None, praxis: Path) -> sess.Session:
    if session_id:
        session = store.load(session_id)
    else:
        # an open session first; else the newest upgrade that changed the install: completed,
        # or failed after its backup (a cleanup failure of an older version of this tool)
        candidates = store.open_sessions() or [
            s
            for s in store.all()
            if s.kind == "upgrade"
            and (
                s.status == sess.COMPLETED
                or (s.status == sess.FAILED and (s.results.get("backup") or {}).get("id"))
            )
        ]
        if not candidates:
            pending = _unfinished_backups(store, praxis)
            raise StateError(
                "no session to roll back",
                hint=f"the upgrade of a damaged session never finished: restore its backup "
                f"with `praxis-upgrade rollback --to {pending[-1][1]}`"
                if pending
                else "use `praxis-upgrade rollback --to BACKUP` "
                "(see `praxis-upgrade backups list`)",
            )
        session = candidates[-1]
    if session.status == sess.ROLLED_BACK:
        raise StateError(
            f"session {session.id} is already rolled back", hint="see `praxis-upgrade status`"
        )
    session.results.setdefault("backup", {})
    if session.status not in sess.OPEN and not session.results["backup"].get("id"):
        raise StateError(
            f"session {session.id} made no backup, so it changed nothing that needs undoing",
            hint="see `praxis-upgrade backups list` for older backups",
        )
    return session


def _refuse_out_of_order(store: sess.SessionStore, session: sess.Session) -> None:
    """Going back past a later upgrade would mix two versions: undo the later one first."""
    later = [
        s
        for s in store.all()
        if s.id > session.id
        and s.kind == "upgrade"
        and s.status in (sess.COMPLETED, *sess.OPEN)
        and (s.results.get("backup") or {}).get("id")
    ]
    if later:
        raise StateError(
            f"session {later[-1].id} upgraded this install after session {session.id}",
            hint=f"roll back the newer one first: `praxis-upgrade rollback {later[-1].id}`",
        )


def _run(ctx: Context, pm: pluggy.PluginManager) -> sess.Session:
    session = ctx.session
    fresh = "plan" not in session.completed_steps  # a resumed session was confirmed already
    session.status = sess.RUNNING
    store, ctx.store = ctx.store, None  # phase 0 writes nothing: a refused run leaves no trace
    try:
        _drive(ctx, pm, last_phase=0)
    except PraxisError:
        session.status = sess.FAILED
        raise
    except Exception as e:
        session.status = sess.FAILED
        raise _as_step_failure(pm, e, ctx.target) from e
    finally:
        ctx.store = store
    planned = ctx.result("plan", PlanResult)
    if "backup" not in session.completed_steps and planned is not None and planned.up_to_date:
        # nothing to do: no backup, no generation, no session file, no report, nothing pruned;
        # the source given is remembered and the git hook's notices are answered all the same
        session.status = sess.COMPLETED
        session.step = ""
        _settle_up_to_date(ctx, planned)
        return session
    down = fresh and _mark_downgrade(ctx)
    if down and (ctx.options.no_downgrade or (not ctx.options.assume_yes and ctx.confirm is None)):
        session.status = sess.FAILED
        plan = session.results["plan"]
        raise UserError(
            f"{plan.get('to_version')} is older than the installed {plan.get('from_version')}: "
            "this would be a downgrade; nothing was changed",
            hint="run `praxis-upgrade run --rev <version>` yourself (it asks, or takes --yes) "
            "if you mean to go back; `praxis-upgrade rollback --to-version` undoes upgrades"
            if ctx.options.no_downgrade
            else "pass --yes to downgrade anyway, or leave out --rev to upgrade to the "
            "source's HEAD",
        )
    if (
        ctx.confirm is not None
        and "backup" not in session.completed_steps
        and not ctx.confirm(session.results["plan"])
    ):
        session.status = sess.FAILED
        raise UserError(
            "upgrade cancelled; nothing was changed",
            hint="`praxis-upgrade plan --diff` shows every change",
        )
    try:
        _drive(ctx, pm, last_phase=5)
    except (KeyboardInterrupt, SystemExit):
        session.error = "interrupted"
        ctx.checkpoint()  # stays "running": status shows it as interrupted once the lock is free
        raise
    except PraxisError as e:
        _fail(ctx, pm, e)
    except Exception as e:
        _fail(ctx, pm, _as_step_failure(pm, e, ctx.target))
    session.status = sess.COMPLETED
    session.step = ""
    session.error = None  # a resumed session's interruption is over: it completed
    ctx.checkpoint()
    _report(ctx, pm)
    return session


def _mark_downgrade(ctx: Context) -> bool:
    """Record in the plan whether it goes back to an older version than the installed one
    (the confirmation on a terminal says so; other runs need ``--yes``)."""
    planned = ctx.result("plan", PlanResult)
    if planned is None or ctx.source is None:
        return False
    down = is_downgrade(
        ctx.source,
        planned.from_version,
        planned.to_version,
        planned.plan.get("base_commit"),
        planned.plan.get("upstream_commit"),
    )
    ctx.session.results["plan"]["downgrade"] = down
    return down


def _fail(ctx: Context, pm: pluggy.PluginManager, error: PraxisError) -> None:
    session = ctx.session
    session.error = error.message
    where = f"phase {session.phase} ({PHASES[session.phase]}), step {session.step}"
    if session.phase == FINISH_PHASE:  # applied and validated: the session stays open
        with contextlib.suppress(OSError):  # a full disk: the file on disk is open already
            ctx.checkpoint()
        raise Unfinished(
            f"the upgrade is applied and validated, but finishing it failed in {where}: "
            f"{error.message}",
            hint=f"fix the cause, then `praxis-upgrade resume {session.id}` finishes it; "
            f"`praxis-upgrade rollback {session.id}` undoes the whole upgrade instead",
        ) from error
    if session.phase not in ROLLBACK_PHASES:
        session.status = sess.FAILED
        ctx.checkpoint()
        _report(ctx, pm)
        raise error
    session.status = sess.ROLLING_BACK
    try:
        ctx.checkpoint()
    except OSError as e:  # e.g. a full disk: roll back all the same, from what is in memory
        ctx.emit("warning", message=f"could not save the session before rolling back: {e}")
    ctx.emit("rollback", reason=error.message)
    _rollback(ctx, pm, error.message)
    _report(ctx, pm)
    raise RolledBack(
        f"upgrade failed in {where}: {error.message}\nEvery change was rolled back.",
        hint=error.hint or "see the report under .praxis-os/.cache/ and `praxis-upgrade status`",
    ) from error


def _disk_full(e: OSError, install: Path | None) -> DiskFull:
    """ENOSPC as the user should read it: where, how much is free, and what to do."""
    where = Path(e.filename) if e.filename else None
    folder = where.parent if where is not None else (install or Path.cwd())
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    return DiskFull(
        f"the disk ran out of space writing {where or f'into {folder}'} ({e.strerror}); "
        f"{fmt_bytes(free)} free in {folder}",
        hint="free space on that disk (old backups: `praxis-upgrade backups prune`); "
        "`praxis-upgrade plan --json` shows what the upgrade needs under `space`",
    )


def _rollback(
    ctx: Context, pm: pluggy.PluginManager, error: str | None, *, force: bool = False
) -> None:
    session = ctx.session
    started = time.monotonic()
    try:
        result = as_json(pm.hook.praxis_rollback(ctx=ctx, error=error, force=force))
        session.timings["rollback"] = round(time.monotonic() - started, 4)
        _follow_target(ctx)
    except PraxisError:
        _follow_target(ctx)
        ctx.checkpoint()
        raise
    except Exception as e:
        _follow_target(ctx)
        ctx.checkpoint()
        raise RollbackError(
            f"rollback of session {session.id} failed: {type(e).__name__}: {e}",
            hint=f"run `praxis-upgrade rollback {session.id}` again; it continues where it stopped",
        ) from e
    if result is None:
        raise PluginError(
            "no plugin implements praxis_rollback", plugin="-", hint="re-enable builtin-rollback"
        )
    session.results["rollback"] = result
    if not result.get("complete", False):
        session.status = (
            sess.ROLLING_BACK
        )  # still open: no run may start over a half-restored install
        with contextlib.suppress(OSError):  # a full disk: it is saved as rolling back already
            ctx.checkpoint()
        left = "\n".join(f"  - {line}" for line in result.get("unrestorable", []))
        raise RollbackError(
            f"rollback of session {session.id} could not restore everything:\n{left}",
            hint="finish the listed items by hand, "
            f"or retry `praxis-upgrade rollback {session.id}`",
        )
    session.status = sess.ROLLED_BACK
    try:
        ctx.checkpoint()
    except OSError as e:
        raise RollbackError(
            f"session {session.id} was rolled back, but recording that failed: {e}",
            hint=f"free space on that disk, then `praxis-upgrade rollback {session.id}` "
            "finds nothing left to restore and records it",
        ) from e


def _report(ctx: Context, pm: pluggy.PluginManager) -> None:
    try:
        paths = [p for group in pm.hook.praxis_report(ctx=ctx) for p in (group or [])]
    except Exception as e:  # a report must never change the outcome
        ctx.emit("warning", message=f"writing reports failed: {e}")
        return
    ctx.session.results["reports"] = paths
    try:
        ctx.checkpoint()
    except OSError as e:  # the outcome is saved already; only the report paths are lost
        ctx.emit("warning", message=f"could not save the report paths: {e}")


def _drive(ctx: Context, pm: pluggy.PluginManager, *, last_phase: int) -> None:
    session = ctx.session
    for step in STEPS:
        if step.phase > last_phase or step.name in session.completed_steps:
            continue
        session.phase, session.step = step.phase, step.name
        ctx.checkpoint()
        ctx.emit("step", phase=step.phase, phase_name=PHASES[step.phase], step=step.name)
        started = time.monotonic()
        result = _call(ctx, pm, step)
        session.results[step.name] = as_json(result)
        session.timings[step.name] = round(time.monotonic() - started, 4)
        session.completed_steps.append(step.name)
        _follow_target(ctx)
        ctx.checkpoint()
        ctx.emit("done", phase=step.phase, step=step.name, seconds=session.timings[step.name])


def _call(ctx: Context, pm: pluggy.PluginManager, step: Step) -> Any:
    hook = getattr(pm.hook, step.hook)
    try:
        result = hook(ctx=ctx)
    except PraxisError:
        raise
    except Exception as e:
        raise _as_step_failure(pm, e, ctx.target) from e
    if step.collect:
        items = _collected(result)
        if step.name == "preflight" and items:
            raise PreflightError(
                "pre-flight found problems; nothing was changed:\n"
                + "\n".join(f"  - {p}" for p in items),
                hint="fix the listed problems and run again",
                problems=items,
            )
        if step.name == "validation":
            failed = [c for c in items if c.get("required") and not c.get("ok")]
            if failed:
                raise StepFailed(
                    "validation failed: "
                    + "; ".join(f"{c['name']}: {c.get('detail', '')}" for c in failed)
                )
        return items
    if result is None and step.optional:
        return {}
    if result is None:
        raise PluginError(
            f"no plugin implements {step.hook} (step {step.name})",
            plugin="-",
            hint="a default plugin may be disabled through PRAXIS_UPGRADE_DISABLE_PLUGINS",
        )
    return result


def _settle_up_to_date(ctx: Context, planned: PlanResult) -> None:
    """Bookkeeping of a run with nothing to do (settings, not upgrade state), and the files
    that still hold conflict markers from an earlier run (the run reports them, exit 3)."""
    # markers can only be in files you changed: the plan names them, no walk over the install
    changed = [e.path for e in planned.entries().entries if e.klass == Klass.LOCAL_CHANGED]
    ctx.session.results["plan"]["unresolved"] = [
        rel for rel in changed if _holds_markers(ctx.target / rel)
    ]
    if ctx.source is not None and targets.remembered_source(ctx.target) != ctx.source:
        targets.remember_source(ctx.target, ctx.source)
    try:
        registry.clear_notices(ctx.project)
    except StateError as e:  # a corrupt registry must not fail a finished run
        ctx.emit("warning", message=str(e))


def _holds_markers(path: Path) -> bool:
    try:
        return not path.is_symlink() and has_markers(path.read_bytes())
    except OSError:
        return False


def _follow_target(ctx: Context) -> None:
    """A step that moved the install (``migrate``, or a rollback of it) set ``ctx.target``:
    the session and its store follow it."""
    if str(ctx.target) == ctx.session.target:
        return
    ctx.session.target = str(ctx.target)
    if ctx.store is not None:
        ctx.store = sess.SessionStore(ctx.target)


def _collected(results: list[Any]) -> list[Any]:
    """A collect hook's results as saved: a list from a plugin adds its items, anything else is
    one item."""
    items = [
        item
        for group in results
        if group is not None
        for item in (group if isinstance(group, list) else [group])
    ]
    return list(as_json(items))


def validate_install(
    target: Path | str,
    *,
    skip_tests: bool = False,
    validate_timeout: float | None = None,
    pm: pluggy.PluginManager | None = None,
    events: Events | None = None,
) -> list[dict[str, Any]]:
    """Phase 4 alone on an install as it is: every validation check, as saved in a session."""
    praxis = targets.require_install(Path(target))
    pm = pm or get_plugin_manager()
    session = sess.Session(
        id=sess.new_id(), kind="validate", target=str(praxis), source=None, options={}
    )
    options = Options(skip_tests=skip_tests, validate_timeout=validate_timeout)
    ctx = Context(praxis, options, session, pm.hook, events=events)
    return _collected(pm.hook.praxis_validate(ctx=ctx))


def _as_step_failure(
    pm: pluggy.PluginManager, e: BaseException, where: Path | None = None
) -> PraxisError:
    if isinstance(e, PraxisError):
        return e
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(e, where)
    who = culprit(pm, sys.exc_info()[2] or e.__traceback__)
    by = f" (raised by plugin {who!r})" if who and not who.startswith("builtin-") else ""
    return StepFailed(f"{type(e).__name__}: {e}{by}")
