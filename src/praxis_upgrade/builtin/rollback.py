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
    added: dict[str, str] = {}
    for step in ("content", "server.code"):
        for path, sha in ((ctx.result(step) or {}).get("written") or {}).items():
            added[path] = sha
    env = ctx.result("server.environment") or {}
    if env.get("changed"):
        from praxis_upgrade import environment

        environment.restore_environment(ctx.target, environment.EnvChange.from_json(env["change"]))
    report = backup.restore_backup(ctx.target, made, added_shas=added, force=bool(info.get("force")))
    out = report.to_json()
    out["complete"] = report.verified and not report.unrestorable
    stop = ctx.result("server.stop") or {}
    if stop.get("state") == "stopped":
        restart = ctx.hook.praxis_restart_server(ctx=ctx)
        out["server"] = restart
    return out
