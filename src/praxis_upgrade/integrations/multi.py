"""Upgrading every registered project, one after another; one failure does not stop the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from praxis_upgrade.engine import registry
from praxis_upgrade.engine.run import run_upgrade
from praxis_upgrade.errors import ExitCode, PraxisError

# worst last: the exit code of `run --all` is the worst of its projects'
SEVERITY = (
    ExitCode.OK,
    ExitCode.CONFLICTS,
    ExitCode.LOCKED,
    ExitCode.USER_ERROR,
    ExitCode.ROLLED_BACK,
    ExitCode.PLUGIN_ERROR,
    ExitCode.ROLLBACK_FAILED,
    ExitCode.INTERNAL,
)


def worst(codes: list[int]) -> int:
    rank = {int(c): i for i, c in enumerate(SEVERITY)}
    return max(codes, key=lambda c: rank.get(c, len(SEVERITY)), default=0)


def upgrade_all(
    *, conflicts: str, exit_for: Callable[[Any], int], **options: Any
) -> list[dict[str, Any]]:
    """Upgrade each registered project from its own source; return one row per project."""
    rows = []
    for project in registry.load().projects.values():
        row: dict[str, Any] = {"project": project.project, "source": project.source}
        try:
            session = run_upgrade(
                project.project, source_path=project.source, conflicts=conflicts, **options
            )
        except PraxisError as e:
            row.update(result=type(e).__name__, exit_code=int(e.exit_code), error=e.message)
        except Exception as e:  # one project's crash must not stop the others
            row.update(
                result="internal error",
                exit_code=int(ExitCode.INTERNAL),
                error=f"{type(e).__name__}: {e}",
            )
        else:
            plan = session.results.get("plan") or {}
            code = exit_for(session)
            if code:
                result = "unresolved conflicts"
            elif plan.get("up_to_date"):
                result = "up to date"
            else:
                result = "planned" if options.get("dry_run") else "upgraded"
            row.update(
                result=result,
                exit_code=code,
                session=session.id,
                from_version=plan.get("from_version"),
                to_version=plan.get("to_version"),
                conflicts=len(plan.get("conflicts") or []),
            )
        rows.append(row)
    return rows
