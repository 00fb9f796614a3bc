"""Default rollback: restore the session's backup exactly, the venv, and the server."""
from __future__ import annotations

from typing import Any

from praxis_upgrade import hookimpl
from praxis_upgrade.context import Context


@hookimpl(trylast=True)
def praxis_rollback(ctx: Context, error: str | None) -> dict[str, Any]:
    from praxis_upgrade import backup

    info = ctx.result("backup") or {}
    if not info.get("id"):
        return {"complete": True, "message": "nothing was written before the failure", "restored": []}
    made = backup.find_backup(ctx.target, info["id"])
    added = _written_by_upgrade(ctx)
    _restore_venv(ctx)
    report = backup.restore_backup(ctx.target, made, added_shas=added, force=bool(info.get("force")))
    out = report.to_json()
    out["complete"] = report.verified and not report.unrestorable
    stop = ctx.result("server.stop") or {}
    if stop.get("state") == "stopped":
        restart = ctx.hook.praxis_restart_server(ctx=ctx)
        out["server"] = restart
    return out


def _restore_venv(ctx: Context) -> None:
    """Give the venv its previous package set back: a rename while the old venv is kept aside
    (also after a crash mid-install), an exact reinstall after a finished upgrade discarded it."""
    from praxis_upgrade import environment

    env = ctx.result("server.environment") or {}
    if env.get("changed") or (ctx.target / environment.PREV).exists():
        environment.restore_environment(ctx.target, environment.EnvChange.from_json(env.get("change") or {}))


def _written_by_upgrade(ctx: Context) -> dict[str, str]:
    """Paths this upgrade wrote, with the content it wrote: rollback removes a file that did not
    exist before only while it still holds exactly that (otherwise it is the user's now).

    The plan says what an add or a side file would contain, which covers a crash in the middle of
    a step; the steps' own records add merges, the .gitignore and anything else they wrote.
    """
    from praxis_upgrade import layout

    added: dict[str, str] = {}
    for entry in ((ctx.result("plan") or {}).get("plan") or {}).get("entries", []):
        if entry.get("upstream_sha") and entry.get("local_sha") is None:
            added[entry["path"]] = entry["upstream_sha"]
        if entry.get("upstream_sha") and str(entry.get("klass", "")).startswith("conflict"):
            added[layout.side_file(entry["path"])] = entry["upstream_sha"]
    for step in ("content", "server.code"):
        added.update((ctx.result(step) or {}).get("written") or {})
    from praxis_upgrade import fs
    from praxis_upgrade.builtin.backup import TOOL_FILES

    for rel in TOOL_FILES:  # the baseline and settings are this tool's own files, never the user's
        if (ctx.target / rel).is_file():
            added[rel] = fs.sha256_file(ctx.target / rel)
    return added
