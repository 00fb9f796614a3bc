"""Default rollback: restore the session's backup exactly, the venv, and the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from praxis_upgrade.backups import catalog
from praxis_upgrade.backups.catalog import find_backup
from praxis_upgrade.backups.manifest import verify_backup
from praxis_upgrade.backups.restore import restore_backup
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import (
    BackupResult,
    EnvironmentResult,
    PlanResult,
    RestartResult,
    RollbackResult,
    StopResult,
    as_json,
)
from praxis_upgrade.errors import BackupError, PraxisError
from praxis_upgrade.phases import journal
from praxis_upgrade.phases.server import installer_progress
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server import lifecycle, venv
from praxis_upgrade.store import KEPT_THROUGH_ROLLBACK, TOOL_FILES, Store
from praxis_upgrade.util import durable, fs


@hookimpl(trylast=True)
def praxis_rollback(ctx: Context, force: bool) -> RollbackResult:
    info = ctx.result("backup", BackupResult) or BackupResult()
    catalog.drop_unfinished(ctx.target, ctx.session.id)  # a kill while the backup was made
    if not info.id:
        return RollbackResult(complete=True, message="nothing was written before the failure")
    _move_back(ctx)
    made = find_backup(ctx.target, info.id)
    problems = [] if force else verify_backup(made.path)
    if problems:  # refuse before anything (server, venv, files) is touched
        raise BackupError(
            f"backup {made.id} failed verification: " + "; ".join(problems[:5]),
            hint="`praxis-upgrade backups verify` names every damaged file; "
            "`--force` restores the rest",
        )
    added = _written_by_upgrade(ctx, made.path)
    new_server = _stop_new_server(ctx)
    # files first: a venv that cannot be rebuilt never keeps the user's files from coming back
    report = restore_backup(
        ctx.target,
        made,
        added_shas=added,
        force=force,
        keep=KEPT_THROUGH_ROLLBACK,
        progress=lambda done, total, _path: ctx.emit(
            "progress", owner="files", done=done, total=total
        ),
    )
    out = RollbackResult.from_json(report.to_json())
    done = f"files: {len(report.restored)} restored, {len(report.removed)} removed"
    ctx.emit("info", message=done)
    venv_done, venv_how = _restore_venv(ctx, made.kept_venv)
    out.extra["venv"] = venv_how
    if not venv_done:
        out.unrestorable.append(f"venv: {venv_how}")
    ctx.emit("info" if venv_done else "warning", message=f"venv: {venv_how}")
    out.complete = report.verified and not out.unrestorable
    if new_server is not None:
        out.extra["stopped_new_server"] = new_server
    stop = ctx.result("server.stop", StopResult) or StopResult()
    if stop.state == "stopped":
        out.extra["server"] = as_json(ctx.hook.praxis_restart_server(ctx=ctx))
    return out


def _move_back(ctx: Context) -> None:
    """An install the upgrade moved from `.agent-os/` goes back there first (idempotent); the
    IDE configs and `.gitignore` come back from the backup with the other files."""
    plan = ctx.result("plan", PlanResult)
    if plan is None or not plan.migration:
        return
    old, new = Path(plan.migration["from"]), Path(plan.migration["to"])
    if new.is_dir() and not old.exists():
        os.rename(new, old)
        durable.fsync_folder(old.parent)
    if old.is_dir():
        ctx.target = old


def _stop_new_server(ctx: Context) -> dict[str, Any] | None:
    """The server phase 3 restarted runs the new version: stop it (by pid) before going back."""
    if not (ctx.result("server.restart", RestartResult) or RestartResult()).restarted:
        return None
    found = lifecycle.find_server(ctx.target)
    if isinstance(found, lifecycle.ServerProcess):
        return lifecycle.stop_server(found).to_json()
    return None


def _restore_venv(ctx: Context, kept: Path) -> tuple[bool, str]:
    """Give the venv its previous package set back; returns (done, what happened or what to do).

    A rename while the old venv is aside (an open upgrade, also after a crash mid-install) or
    kept with the backup (a finished one); else an exact reinstall of the previous versions.
    """

    recorded = ctx.result("server.environment", EnvironmentResult)
    env = recorded or EnvironmentResult()
    # the venv aside is this session's only when it got as far as building one
    ours_aside = recorded is not None and Store(ctx.target).previous_venv.exists()
    if not (env.changed or ours_aside or kept.is_dir()):
        return True, "unchanged by the upgrade"
    try:
        how = venv.restore_environment(
            ctx.target,
            venv.EnvChange.from_json(env.change or {}),
            kept=kept,
            progress=installer_progress(ctx),
        )
    except PraxisError as exc:
        return False, f"{exc.message}; {exc.hint}" if exc.hint else exc.message
    return True, how


def _written_by_upgrade(ctx: Context, backup_dir: Path) -> dict[str, str]:
    """Paths this upgrade wrote, with the content it wrote: rollback removes a file that did not
    exist before only while it still holds exactly that (otherwise it is the user's now).

    From the session, and from the backup's journal (all there is when the session is lost).
    """
    added = {**journal.load_journal(backup_dir), **journal.written_by_upgrade(ctx)}
    for rel in TOOL_FILES:  # the baseline is this tool's own file, never the user's
        if (ctx.target / rel).is_file():
            added[rel] = fs.sha256_file(ctx.target / rel)
    return added
