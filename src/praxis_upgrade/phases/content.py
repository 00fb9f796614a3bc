"""Default phase 2: apply the content part of the plan, then the `.gitignore` block."""

from __future__ import annotations

from typing import Any

from praxis_upgrade.content import gitignore
from praxis_upgrade.content.apply import ApplyResult, apply_plan
from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import PlanResult
from praxis_upgrade.phases import journal
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.util import fs


def apply_owner(ctx: Context, owner: str, step: str) -> ApplyResult:
    """Apply the plan's entries of one owner ("content" or "server") with the run's policy."""
    assert ctx.source is not None
    planned = ctx.result("plan", PlanResult)
    assert planned is not None
    plan = planned.entries()
    repo = ctx.repo
    decide = None
    if ctx.options.conflicts == Policy.PROMPT and ctx.decide is not None:
        ask = ctx.decide

        def decide(entry: Any, info: Any) -> str:
            return ask({"path": entry.path, "klass": entry.klass, "info": info})

    def progress(done: int, total: int) -> None:
        ctx.emit("progress", owner=owner, done=done, total=total)

    result = apply_plan(
        plan,
        ctx.target,
        repo,
        policy=ctx.options.conflicts,
        decide=decide,
        progress=progress,
        only_owner=owner,
    )
    # apply_plan returns with its writes durable (one batch), so recording them cannot claim a
    # file a power cut could still take back. Saved at once, not only when the hook returns: if
    # anything fails after this point, rollback must know which files this step wrote
    ctx.record(step, result)
    journal.save_journal(ctx)
    return result


@hookimpl(trylast=True)
def praxis_content(ctx: Context) -> ApplyResult:
    result = apply_owner(ctx, "content", "content")
    path = ctx.project / ".gitignore"
    entries = gitignore.required_entries(ctx.target)
    new = gitignore.intended(ctx.project, entries)
    if new is not None:
        # outside the install, keyed by absolute path: rollback removes it only if it is still
        # ours; recorded before the write, so a kill right after it is not taken for a user edit
        result.written[str(path)] = fs.sha256_bytes(new)
        ctx.record("content", result)
        journal.save_journal(ctx)
    result.gitignore_changed = gitignore.update_gitignore(ctx.project, entries)
    result.gitignore_problem = gitignore.left_alone(ctx.project, entries)
    if result.gitignore_problem:  # said now, and in the report
        ctx.emit("warning", message=f".gitignore: {result.gitignore_problem}")
    return result
