"""Default phase 5: record the new baseline, remember the source, keep the newest backups.

Every step is idempotent and the backup is marked good last, so a failure anywhere leaves the
session open: ``resume`` runs this again to the end, ``rollback`` undoes the whole upgrade.
"""

from __future__ import annotations

from pathlib import Path

from praxis_upgrade.backups import catalog
from praxis_upgrade.content import baseline
from praxis_upgrade.content.apply import ApplyResult, new_baseline
from praxis_upgrade.engine import registry
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import BackupResult, CleanupResult, EnvironmentResult, PlanResult
from praxis_upgrade.errors import StateError
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server import venv
from praxis_upgrade.source import targets


@hookimpl(trylast=True)
def praxis_cleanup(ctx: Context) -> CleanupResult:
    assert ctx.source is not None
    planned = ctx.result("plan", PlanResult)
    assert planned is not None
    plan = planned.head()  # its entries are made one at a time, as they are gone through
    repo = ctx.repo
    applied = [
        a for a in (ctx.result(s, ApplyResult) for s in ("content", "server.code")) if a is not None
    ]
    env = ctx.result("server.environment", EnvironmentResult) or EnvironmentResult()
    # its records are not needed here (new_baseline reads those it keeps): a big baseline is
    # neither held twice nor read whole
    old = (
        baseline.load(ctx.target, files=lambda _rel: False)
        if not env.changed and not any(e.action.writes for e in planned.walk())
        else None
    )
    if (
        old is not None
        and old.commit == plan.upstream_commit
        and old.environment == env.fingerprint
    ):  # a no-op upgrade writes nothing, not even a fresh timestamp
        record = old
    else:
        record = new_baseline(plan, ctx.target, repo, applied, entries=planned.walk())
        if env.fingerprint:
            record.environment = env.fingerprint
        baseline.save(ctx.target, record)
    if targets.remembered_source(ctx.target) != Path(ctx.source):
        targets.remember_source(ctx.target, Path(ctx.source))
    backup_id = (ctx.result("backup", BackupResult) or BackupResult()).id
    made = catalog.find_backup(ctx.target, backup_id) if backup_id else None
    if env.changed:
        # the replaced venv goes with the backup (one rename) for an offline rollback, or away
        if made is not None and ctx.options.keep_venvs > 0:
            venv.keep_previous(ctx.target, made.kept_venv)
        venv.discard_previous(ctx.target)
    open_ids = ctx.store.open_ids() if ctx.store else []
    protect = [i for i in [backup_id, ctx.session.id] if i] + open_ids
    catalog.drop_unfinished(ctx.target, ctx.session.id)  # a resumed backup step's half copy
    pruned = catalog.prune_backups(ctx.target, ctx.options.keep_backups, protect=protect)
    _prune_sessions(ctx, pruned)
    dropped_venvs = catalog.prune_kept_venvs(ctx.target, ctx.options.keep_venvs)
    _clear_update_notices(ctx)
    if made is not None:  # last: a backup is "good" only once everything above is done
        catalog.mark_good(made)
    return CleanupResult(
        baseline=record.version,
        pruned_backups=pruned,
        kept_venv=made is not None and made.kept_venv.is_dir(),
        pruned_venvs=dropped_venvs,
    )


def _clear_update_notices(ctx: Context) -> None:
    """The post-merge hook's "update available" notices are answered by this upgrade."""

    try:
        registry.clear_notices(ctx.project)
    except StateError as e:  # a corrupt registry must not fail a finished upgrade
        ctx.emit("warning", message=str(e))


def _prune_sessions(ctx: Context, pruned_backups: list[str]) -> None:
    """Sessions go with their backups: a finished session whose backup was pruned is no longer a
    way back, and keeping it would make every `status` read it."""
    if ctx.store is None or not pruned_backups:
        return
    gone = set(pruned_backups)
    for session_id, backup_id in ctx.store.finished_backups().items():
        if backup_id in gone and session_id != ctx.session.id:
            ctx.store.remove(session_id)
