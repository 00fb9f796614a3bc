"""Generations: every upgrade that changed the install, with the backup that goes back from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from praxis_upgrade.backups.catalog import list_backups
from praxis_upgrade.engine import session as sess


@dataclasses.dataclass(frozen=True)
class Generation:
    """One upgrade that changed the install (runs with nothing to do make none)."""

    number: int  # 1 = the oldest recorded
    session: str
    from_version: str | None
    to_version: str | None
    date: str
    backup: str | None
    backup_kept: bool  # False once retention pruned it: the way back ends here
    outcome: str  # completed, rolled_back, running, rolling_back, failed

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def generations(praxis: Path) -> list[Generation]:
    """Every generation of the install at `praxis`, newest first."""
    kept = {b.id for b in list_backups(praxis) if b.complete}
    sessions, _unreadable = sess.SessionStore(praxis).readable()
    made = [
        s
        for s in sorted(sessions, key=lambda s: s.id)
        if s.kind == "upgrade" and (s.results.get("backup") or {}).get("id")
    ]
    out = []
    for number, s in enumerate(made, 1):
        plan = s.results.get("plan") or {}
        backup = s.results["backup"]["id"]
        out.append(
            Generation(
                number=number,
                session=s.id,
                from_version=plan.get("from_version"),
                to_version=plan.get("to_version"),
                date=s.created_at,
                backup=backup,
                backup_kept=backup in kept,
                outcome=s.status,
            )
        )
    return out[::-1]


def way_back(praxis: Path, version: str) -> list[str]:
    """Sessions to roll back, newest first, to bring the install back to `version`; [] when no
    completed generation started from it, or the way there crosses a pruned backup (nothing is
    rolled back then: stopping half-way would leave a version nobody asked for)."""
    line = reachable(praxis)
    for depth, g in enumerate(line):
        if g.from_version == version:
            return [x.session for x in line[: depth + 1]]
    return []


def reachable(praxis: Path) -> list[Generation]:
    """Completed generations, newest first, as far back as their backups are all kept."""
    out = []
    for g in (g for g in generations(praxis) if g.outcome == sess.COMPLETED):
        if not g.backup_kept:
            break
        out.append(g)
    return out
