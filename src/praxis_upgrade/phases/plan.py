"""Default planner: baseline (or adoption), three-way plan, conflict policy `fail`, disk space."""

from __future__ import annotations

import json
import random
from typing import Any

from praxis_upgrade.backups import catalog
from praxis_upgrade.content import baseline, gitignore
from praxis_upgrade.content.adopt import adopt
from praxis_upgrade.content.baseline import Baseline
from praxis_upgrade.content.plan import Plan, make_plan
from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import PlanResult
from praxis_upgrade.errors import ConflictsError, PraxisError, PreflightError
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server import lifecycle, venv
from praxis_upgrade.server.ideconfig import fix_ide_configs, ide_config_paths
from praxis_upgrade.store import DOT_DIR, LEGACY_DOT_DIR, Store
from praxis_upgrade.util import fs

REQUIREMENTS = "mcp_server/requirements.txt"
SAMPLE = 64  # plan entries encoded to tell the size of all


@hookimpl(trylast=True)
def praxis_plan(ctx: Context) -> PlanResult:
    assert ctx.source is not None
    repo = ctx.repo
    base = baseline.load(ctx.target)
    adopted = base is None
    if base is None:
        ctx.emit(
            "info", message="no baseline recorded: adopting the install from the source's history"
        )
        if ctx.options.fetch_history and repo.incomplete_history():
            for command in repo.fetch_history():
                ctx.emit("info", message=f"fetched the source's history: {command}")
        base = adopt(ctx.target, repo)
    elif _adopted_from_partial_history(base) and not repo.incomplete_history():
        again = adopt(ctx.target, repo)
        if again.commit != base.commit:
            ctx.emit(
                "info",
                message=f"the source's full history explains the install better: re-adopted it "
                f"as {again.version} (was {base.version})",
            )
            base, adopted = again, True
    plan = make_plan(ctx.target, repo, ctx.options.rev or "HEAD", base)
    if plan.problems:
        raise PreflightError(
            "these planned paths cannot be written; nothing was changed:\n"
            + "\n".join(f"  - {p}" for p in plan.problems),
            hint="fix their permissions (or remove the offending links), then run again",
            problems=list(plan.problems),
        )
    conflicts = [e.path for e in plan.conflicts()]
    if conflicts and ctx.options.conflicts == Policy.FAIL:
        raise ConflictsError(
            f"{len(conflicts)} conflict(s) and --conflicts fail; nothing was changed:\n"
            + "\n".join(f"  - {p}" for p in conflicts[:20]),
            hint="see them with `praxis-upgrade plan --diff`, "
            "then choose another --conflicts policy",
            entries=[e.to_json() for e in plan.conflicts()],
        )
    migration = None
    if ctx.target.name == LEGACY_DOT_DIR:
        new = ctx.project / DOT_DIR
        if new.exists():
            raise PreflightError(
                f"{ctx.project} has both {LEGACY_DOT_DIR}/ and {DOT_DIR}/; nothing was changed",
                hint=f"keep one: move {new} aside if it is a leftover, then run again",
                problems=[f"{new} exists"],
            )
        migration = {"from": str(ctx.target), "to": str(new)}
    touched = plan.touched_paths()
    if migration and (ctx.target / "config.json").is_file():
        touched.append("config.json")  # the move rewrites the folders it names
    outside = [str(p) for p in ide_config_paths(ctx.project)] + [str(ctx.project / ".gitignore")]
    write_bytes = sum(e.size for e in plan.changes() if getattr(e, "size", None))
    plan_json = plan.to_json()
    space = {
        "backup_and_content": catalog.space_needed(ctx.target, touched, write_bytes=write_bytes),
        "new_venv": _new_venv_bytes(ctx, plan),
        "blob_cache": _uncached_bytes(ctx, plan),
        "session": 3 * _json_bytes(plan_json),  # the plan, saved with the session
    }
    if not ctx.options.dry_run:
        catalog.check_space(
            ctx.target,
            sum(space.values()),
            detail="for "
            + ", ".join(
                f"{what.replace('_', ' ')} {catalog.fmt_bytes(n)}" for what, n in space.items() if n
            )
            + (
                " (the new venv is built beside the old one, kept until the upgrade is final)"
                if space["new_venv"]
                else ""
            ),
        )
    return PlanResult(
        up_to_date=not adopted and not migration and _nothing_to_do(ctx, base, plan),
        migration=migration,
        space=space,
        summary=plan.counts(),
        touched=touched,
        outside=outside,
        conflicts=conflicts,
        from_version=plan.from_version,
        to_version=plan.to_version,
        adopted=adopted,
        adopted_from=base.adopted_from if adopted else None,
        adoption=base.adoption if adopted else None,
        plan=plan_json,
    )


def _nothing_to_do(ctx: Context, base: Baseline, plan: Plan) -> bool:
    """The install already is what this upgrade would make it: no file to write, the baseline
    already records this source commit, the venv matches the requirements, and neither the
    `.gitignore` block nor an IDE config would change. Such a run ends before the backup."""
    if plan.changes() or base.commit != plan.upstream_commit:
        return False
    entries = gitignore.required_entries(ctx.target)
    if gitignore.needs_update(ctx.project, entries):
        return False
    by_hand = gitignore.left_alone(ctx.project, entries)
    if by_hand:  # what no upgrade can do for the user: said on every run that ends here
        ctx.emit("warning", message=f".gitignore: {by_hand}")
    transport = lifecycle.knows_transport(ctx.target / "mcp_server")
    ide = fix_ide_configs(ctx.project, requires_transport=transport, write=False)
    if any(c.changed for c in ide):
        return False
    for change in ide:  # what no upgrade can do for the user: said on every run that ends here
        if change.problem:
            ctx.emit("warning", message=f"IDE config: {change.problem}")
    try:
        return not venv.needs_install(ctx.target, base.environment)
    except PraxisError:  # no usable venv: pre-flight says so, the upgrade rebuilds it
        return False


def _adopted_from_partial_history(base: Baseline) -> bool:
    """An adopted baseline (no upgrade recorded since) chosen while versions were missing."""
    return bool(base.adopted_from and base.adoption and not base.adoption.get("complete_history"))


def _json_bytes(plan_json: dict[str, Any]) -> int:
    """About the size of the plan's JSON: its head, and its entries from a random sample of at
    most `SAMPLE` (random, so that no pattern in the entries' order can skew it; encoding every
    entry only to size it took a third of a second at scale 100; the entries differ little in
    size, and the space check allows three times this)."""
    entries = plan_json.get("entries") or []
    head = {k: v for k, v in plan_json.items() if k != "entries"}
    sample = random.Random(len(entries)).sample(entries, min(SAMPLE, len(entries)))
    each = len(json.dumps(sample)) / len(sample) if sample else 0
    return len(json.dumps(head)) + round(each * len(entries))


def _uncached_bytes(ctx: Context, plan: Plan) -> int:
    """Bytes the new baseline adds to the blob cache (at most: the cache compresses)."""
    versions = (e.upstream_sha for e in plan.entries if e.upstream_sha)
    missing = baseline.uncached(ctx.target, versions)
    return sum(e.size for e in plan.entries if e.upstream_sha in missing)


def _new_venv_bytes(ctx: Context, plan: Plan) -> int:
    """Disk for a second venv when the requirements change (the new one is built beside the old
    one, which stays until the upgrade is final): the old venv's size, as the best estimate."""
    live = Store(ctx.target).venv
    if not live.is_dir() or not any(e.path == REQUIREMENTS for e in plan.changes()):
        return 0
    return fs.tree_size(live)
