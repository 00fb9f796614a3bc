"""Default phase 1: a verified backup of exactly what the plan may touch."""

from __future__ import annotations

from pathlib import Path

from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import BackupResult, PlanResult
from praxis_upgrade.phases import journal
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.store import TOOL_FILES


@hookimpl(trylast=True)
def praxis_backup(ctx: Context) -> BackupResult:
    plan = ctx.result("plan", PlanResult)
    assert plan is not None
    paths = sorted(set(plan.touched) | set(TOOL_FILES))
    made = create_backup(
        ctx.target,
        paths,
        outside=[Path(p) for p in plan.outside],
        meta={
            "session": ctx.session.id,
            "from_version": plan.from_version,
            "to_version": plan.to_version,
        },
    )
    # the copies and manifest are durable (synced before COMPLETE), and so is the journal (its
    # own fsyncs), before the first content write
    journal.save_journal(ctx, made.path)  # what the upgrade is about to write, before it does
    ctx.emit("info", message=f"backup {made.id}: {len(paths)} paths, verified")
    return BackupResult(id=made.id, path=str(made.path), paths=len(paths))
