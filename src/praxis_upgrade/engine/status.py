"""What `praxis-upgrade status` reports: versions, sessions and their states, the lock,
leftovers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from praxis_upgrade.backups.catalog import list_backups
from praxis_upgrade.content import baseline
from praxis_upgrade.content.apply import conflict_leftovers
from praxis_upgrade.engine import registry
from praxis_upgrade.engine import session as sess
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.errors import BaselineError, StateError
from praxis_upgrade.source import targets
from praxis_upgrade.source.repo import SourceRepo


def session_state(session: sess.Session, lock_holder: dict[str, Any] | None) -> str:
    """running / interrupted / completed / failed / rolled_back, as a user should read it."""
    if session.status in sess.OPEN:
        if lock_holder and lock_holder.get("session") == session.id:
            return session.status
        return sess.INTERRUPTED
    return session.status


def get_status(target: Path) -> dict[str, Any]:
    praxis = targets.require_install(target)
    holder = UpgradeLock(praxis).holder()
    out: dict[str, Any] = {"target": str(praxis), "lock": holder}
    out.update(_baseline(praxis))
    source = targets.remembered_source(praxis)
    out["source"] = str(source) if source else None
    if source:
        try:
            out["source_version"] = SourceRepo(source).version("HEAD")
        except Exception as e:
            out["source_version"] = f"unreadable: {e}"
    store = sess.SessionStore(praxis)
    sessions, corrupt = store.readable()
    out["corrupt_sessions"] = [{"path": str(p), "problem": why} for p, why in corrupt]
    damaged = set(store.quarantined())
    out["quarantined_sessions"] = [
        {
            "id": sid,
            "unfinished_backup": next(
                (b.id for b in list_backups(praxis) if b.session == sid and not b.good), None
            ),
        }
        for sid in sorted(damaged)
    ]
    out["sessions"] = [
        {
            "id": s.id,
            "kind": s.kind,
            "state": session_state(s, holder),
            "status": s.status,  # as saved: an interrupted session says what it was doing
            "phase": s.phase,
            "step": s.step,
            "error": s.error,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
        }
        for s in sessions
    ]
    out["interrupted"] = [s["id"] for s in out["sessions"] if s["state"] == sess.INTERRUPTED]
    try:
        out["conflict_leftovers"] = conflict_leftovers(praxis)
    except ImportError:
        out["conflict_leftovers"] = []
    out["notices"], out["auto_runs"] = _hook_records(praxis.parent)
    return out


def _baseline(praxis: Path) -> dict[str, Any]:
    """The installed version as the baseline records it; for a corrupt baseline, the error and
    the way to rebuild it (what `run` says too). Status shows the rest all the same."""
    try:
        record = baseline.load(praxis)
    except BaselineError as e:
        return {"baseline": "corrupt", "baseline_error": e.message, "baseline_hint": e.hint}
    except Exception as e:  # status must still show the rest
        return {"baseline": "unreadable", "baseline_error": str(e), "baseline_hint": None}
    return {
        "baseline": "recorded" if record else "none",
        "installed_version": record.version if record else None,
        "installed_commit": record.commit if record else None,
        "adopted_from": record.adopted_from if record else None,
    }


def _hook_records(project: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the post-merge hook recorded for this project: update notices and background runs."""

    try:
        return list(registry.notices(project)), list(registry.auto_runs(project))
    except StateError:  # a corrupt registry must not hide the install's own status
        return [], []
