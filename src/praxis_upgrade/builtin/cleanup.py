"""Default phase 5: record the new baseline, remember the source, keep the newest backups."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from praxis_upgrade import hookimpl, targets
from praxis_upgrade.context import Context


@hookimpl(trylast=True)
def praxis_cleanup(ctx: Context) -> dict[str, Any]:
    from praxis_upgrade import backup, baseline
    from praxis_upgrade.apply import ApplyResult, new_baseline
    from praxis_upgrade.plan import Plan
    from praxis_upgrade.vcs import SourceRepo

    assert ctx.source is not None
    plan = Plan.from_json(ctx.result("plan")["plan"])
    repo = SourceRepo(ctx.source)
    applied = [ApplyResult.from_json(ctx.result(s)) for s in ("content", "server.code") if ctx.result(s)]
    env = ctx.result("server.environment") or {}
    old = baseline.load(ctx.target)
    unchanged = (
        old is not None and not plan.changes() and not env.get("changed") and old.commit == plan.upstream_commit
        and old.environment == env.get("fingerprint")
    )
    if unchanged and old is not None:  # a no-op upgrade writes nothing, not even a fresh timestamp
        record = old
    else:
        record = new_baseline(plan, ctx.target, repo, applied)
        if env.get("fingerprint"):
            record.environment = env["fingerprint"]
        baseline.save(ctx.target, record)
    if targets.remembered_source(ctx.target) != Path(ctx.source):
        targets.remember_source(ctx.target, Path(ctx.source))
    backup_id = (ctx.result("backup") or {}).get("id")
    if backup_id:
        backup.mark_good(backup.find_backup(ctx.target, backup_id))
    if env.get("changed"):
        from praxis_upgrade import environment

        environment.discard_previous(ctx.target, environment.EnvChange.from_json(env["change"]))
    open_ids = [s.id for s in ctx.store.open_sessions()] if ctx.store else []
    pruned = backup.prune_backups(ctx.target, ctx.options.keep_backups, protect=[i for i in [backup_id] if i] + open_ids)
    _clear_update_notices(ctx)
    return {"baseline": record.version, "pruned_backups": pruned}


def _clear_update_notices(ctx: Context) -> None:
    """The post-merge hook's "update available" notices are answered by this upgrade."""
    from praxis_upgrade import registry
    from praxis_upgrade.errors import StateError

    try:
        registry.clear_notices(ctx.project)
    except StateError as e:  # a corrupt registry must not fail a finished upgrade
        ctx.emit("warning", message=str(e))
