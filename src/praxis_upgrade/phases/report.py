"""Default reports: a Markdown summary, the validation JSON and one UPDATE_LOG.txt entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from praxis_upgrade.content.vocab import Action, Klass
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.session import Session
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server.venv import EnvChange
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs


@hookimpl(trylast=True)
def praxis_report(ctx: Context) -> list[str]:
    return [str(p) for p in write_reports(ctx.target, ctx.session, stamp=_stamp())]


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")


def _free(path: Path) -> Path:
    """``path``, or ``name-2.ext``... when a report of the same second exists."""
    n, candidate = 2, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def venv_lines(session: Session) -> list[str]:
    """What the upgrade did to the server's venv, in a few lines (none when it was left alone)."""
    env = session.results.get("server.environment") or {}
    change = env.get("change") or {}
    if not env.get("changed") or not change:
        return []
    lines = [f"rebuilt with {change.get('tool')} in {change.get('seconds', 0):.1f}s"]
    if change.get("carried"):
        lines.append("carried over your own packages: " + ", ".join(change["carried"]))
    for label, why in (change.get("not_carried") or {}).items():
        lines.append(f"NOT carried over: {label} ({why})")
    if change.get("not_carried"):
        lines.append(f"reinstall with: {EnvChange.from_json(change).reinstall_command()}")
    lines += [f"dependency check: {p}" for p in change.get("carry_problems") or []]
    lines += [
        f"post-install step failed (wanted, the upgrade stands): {s.get('message')}"
        for s in env.get("post_install") or []
        if not s.get("ok") and not s.get("required", True)
    ]
    cleanup = session.results.get("cleanup") or {}
    cleanup = cleanup[0] if isinstance(cleanup, list) and cleanup else cleanup
    if isinstance(cleanup, dict) and cleanup.get("kept_venv"):
        lines.append("the replaced venv is kept with the backup, for an offline rollback")
    return lines


def summary_markdown(session: Session) -> str:
    plan = session.results.get("plan") or {}
    lines = [
        f"# prAxIs OS upgrade {session.status}",
        "",
        f"- session: `{session.id}` ({session.kind})",
        f"- from: {plan.get('from_version')} to: {plan.get('to_version')}",
        f"- source: {session.source}",
        f"- started: {session.created_at}, finished: {session.updated_at}",
    ]
    if plan.get("adopted"):
        fit = plan.get("adoption") or {}
        matched = (
            f" ({fit['matched']} of {fit['managed']} files exactly that version)" if fit else ""
        )
        lines.append(f"- baseline adopted from upstream {plan.get('adopted_from')}{matched}")
    if session.error:
        lines += ["", "## Error", "", "```", session.error, "```"]
    if plan.get("summary"):
        lines += ["", "## Plan", "", "| class | files |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in sorted(plan["summary"].items())]
    decisions = [
        d
        for s in ("content", "server.code")
        for d in (session.results.get(s) or {}).get("decisions", [])
    ]
    conflicts = [d for d in decisions if Klass.conflicting(d.get("klass"))]
    if conflicts:
        lines += [
            "",
            "## Conflicts",
            "",
            "| file | class | decision | result |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{d['path']}` | {d.get('klass')} | {d.get('decision')} | {d.get('result', '')} |"
            for d in conflicts
        ]
    kept = [d for d in decisions if d.get("action") == Action.KEEP and d not in conflicts]
    if kept:
        lines += ["", "## Your edits kept", ""] + [
            f"- `{d['path']}` ({d.get('klass')})" for d in kept
        ]
    checks = session.results.get("validation") or []
    if checks:
        lines += ["", "## Validation", ""]
        lines += [
            f"- {'ok' if c.get('ok') else 'FAILED'} {c.get('name')}: {c.get('detail', '')}"
            for c in checks
        ]
    rollback = session.results.get("rollback")
    if rollback:
        lines += ["", "## Rollback", "", f"- complete: {rollback.get('complete')}"]
        lines += [f"- could not restore: {u}" for u in rollback.get("unrestorable", [])]
        if rollback.get("venv"):
            lines.append(f"- venv: {rollback['venv']}")
    ide = [
        c
        for c in (session.results.get("server.code") or {}).get("ide_configs", [])
        if c.get("changed") or c.get("problem")
    ]
    moved = (session.results.get("migrate") or {}).get("left") or []
    if moved:
        lines += ["", "## Left for you after the move", ""] + [f"- {p}" for p in moved]
    gitignore = (session.results.get("content") or {}).get("gitignore_problem")
    if gitignore:
        lines += ["", "## .gitignore", "", f"- {gitignore}"]
    if ide:
        lines += ["", "## IDE configs", ""]
        lines += [
            f"- `{c.get('path')}`: {c.get('problem') or '`--transport dual` added'}" for c in ide
        ]
    env = venv_lines(session)
    if env:
        lines += ["", "## Server venv", ""] + [f"- {line}" for line in env]
    restart = session.results.get("server.restart") or {}
    if restart.get("message"):
        lines += ["", "## Server", "", restart["message"]]
    backup = session.results.get("backup") or {}
    if backup.get("id"):
        lines += [
            "",
            f"Backup: `{backup.get('path')}`. Undo with `praxis-upgrade rollback {session.id}`.",
        ]
    return "\n".join(lines) + "\n"


def write_reports(target: Path, session: Session, *, stamp: str) -> list[Path]:
    """Write the reports of ``session`` into ``target`` and return their paths."""
    if session.options.get("dry_run"):
        return []
    store = Store(target)
    written = []
    summary = _free(store.summary_report(stamp))
    fs.atomic_write_text(summary, summary_markdown(session))
    written.append(summary)
    checks = session.results.get("validation")
    if checks is not None:
        report: dict[str, Any] = {
            "session": session.id,
            "generated_at": session.updated_at,
            "checks": checks,
            "passed": all(c.get("ok") or not c.get("required") for c in checks),
        }
        path = _free(store.validation_report(stamp))
        fs.atomic_write_json(path, report)
        written.append(path)
    if session.kind == "upgrade":
        plan = session.results.get("plan") or {}
        log = store.update_log
        old = log.read_text(encoding="utf-8") if log.exists() else ""
        entry = (
            f"{session.updated_at} {session.status}: {plan.get('from_version')} -> "
            f"{plan.get('to_version')} (session {session.id}; {summary.name})\n"
        )
        fs.atomic_write_text(log, old + ("" if not old or old.endswith("\n") else "\n") + entry)
        written.append(log)
    return written
