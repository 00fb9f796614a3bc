"""How the CLI shows sessions, plans and progress on a terminal (the only printing module besides
cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from praxis_upgrade.content.diffs import entry_diffs
from praxis_upgrade.content.plan import Plan
from praxis_upgrade.content.vocab import Action, Klass, Policy
from praxis_upgrade.engine.session import Session
from praxis_upgrade.phases.report import venv_lines
from praxis_upgrade.source.repo import SourceRepo


def emit_json(data: Any) -> None:
    """One JSON object on stdout: indented for a person at a terminal, compact for a program
    (json's C encoder only runs without indent: a whole plan encodes ~5x faster)."""
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(data, indent=indent, sort_keys=True, default=str))


def progress_printer(enabled: bool) -> Any:
    """An events callback that shows one line per step (and file progress) on stderr."""
    last: dict[str, Any] = {}

    def show(event: dict[str, Any]) -> None:
        if not enabled:
            return
        kind = event["event"]
        if kind == "step":
            click.secho(
                f"[{event['phase']}/5 {event['phase_name']}] {event['step']} ...",
                err=True,
                fg="cyan",
            )
        elif kind == "progress" and event.get("total"):
            done, total = event["done"], event["total"]
            if sys.stderr.isatty() and (
                done == total or done - last.get("done", 0) >= max(1, total // 20)
            ):
                last["done"] = done
                click.echo(
                    f"\r    {event.get('owner', '')}: {done}/{total} files",
                    err=True,
                    nl=done == total,
                )
        elif kind == "resume":
            click.echo(
                f"Resuming session {event['session']} at phase {event['phase']} ({event['step']})",
                err=True,
            )
        elif kind == "info":
            click.echo(f"    {event.get('message')}", err=True)
        elif kind in ("warning", "rollback"):
            click.secho(f"    {event.get('message') or event.get('reason')}", err=True, fg="yellow")

    return show


CONFLICT_RESULTS = {
    "kept-local": "kept your version; upstream's is beside it as *.praxis-upstream",
    "cannot-merge-kept-local": "binary, not merged: kept your version; upstream's is beside it",
    "written": "took upstream's version (yours is in the backup)",
    "merged": "merged cleanly",
    "conflict-markers": "merged with conflict markers: edit the file to resolve them",
    "skipped": "skipped: left as it was, resolve by hand",
    "reported": "you deleted it and upstream changed it: left deleted, resolve by hand",
}
UNSETTLED = ("conflict-markers", "skipped")
PLANNED: dict[str | None, str] = {  # what a run would do, by --conflicts (None: `plan`)
    Policy.KEEP_LOCAL: "would keep your version; upstream's would go beside it",
    Policy.TAKE_UPSTREAM: "would take upstream's version (yours would go to the backup)",
    Policy.MERGE: "would merge both changes (conflict markers where they overlap)",
    Policy.PROMPT: "both you and upstream changed it: the upgrade will ask you",
    Policy.FAIL: "both you and upstream changed it: --conflicts fail stops the upgrade",
    None: "both you and upstream changed it: `run --conflicts` decides",
}
PLANNED_DELETED = "you deleted it and upstream changed it: it would stay deleted"


def unsettled(session: Session) -> list[str]:
    """Conflicts the user still has to resolve (markers written, or skipped at the prompt)."""
    left = list((session.results.get("plan") or {}).get("unresolved") or [])  # up to date
    return left + [
        d["path"]
        for s in ("content", "server.code")
        for d in (session.results.get(s) or {}).get("decisions", [])
        if d.get("result") in UNSETTLED
    ]


def conflict_line(folder: str, path: str, what: str, klass: str, line: int | None = None) -> str:
    """One conflict as ``<folder>/<path>:<line>: conflict: <what>``, the one format every mode
    prints (the VS Code tasks' problem matcher reads it; `folder` is the install's, relative to
    the project)."""
    kind = "" if klass == Klass.CONFLICT else f" [{klass}]"
    return f"{folder}/{path}:{line or 1}: conflict: {what}{kind}"


def conflict_lines(session: Session) -> list[str]:
    """The conflicts of a finished run, each with what was done."""
    lines, folder = [], Path(session.target).name
    for step in ("content", "server.code"):
        for d in (session.results.get(step) or {}).get("decisions", []):
            if Klass.conflicting(d.get("klass")):
                what = CONFLICT_RESULTS.get(d.get("result", ""), d.get("result", ""))
                lines.append(conflict_line(folder, d["path"], what, d["klass"], d.get("line")))
    return lines


def plan_conflict_lines(plan: dict[str, Any], folder: str, policy: str | None) -> list[str]:
    """The conflicts of a plan (a dry run, `plan`, or a run `--conflicts fail` refused), each
    with what a run under `policy` would do."""
    lines = []
    for entry in (plan.get("plan") or {}).get("entries", []):
        if Klass.conflicting(entry.get("klass")):
            deleted = entry.get("action") == Action.STAY_DELETED and policy != Policy.FAIL
            what = PLANNED_DELETED if deleted else PLANNED.get(policy, PLANNED[None])
            lines.append(conflict_line(folder, entry["path"], what, entry["klass"]))
    return lines


def show_plan(result: dict[str, Any], *, verbose: bool) -> None:
    summary = result.get("summary", {})
    down = " (a downgrade)" if result.get("downgrade") else ""
    click.echo(f"Plan: {result.get('from_version')} -> {result.get('to_version')}{down}")
    if result.get("adopted"):
        fit = result.get("adoption") or {}
        matched = (
            f": {fit['matched']} of {fit['managed']} managed files are exactly it" if fit else ""
        )
        click.echo(
            f"  (no baseline recorded: adopted from upstream {result.get('adopted_from')}{matched})"
        )
    if result.get("migration"):
        move = result["migration"]
        click.echo(
            f"  move: {Path(move['from']).name}/ -> {Path(move['to']).name}/ "
            "(IDE configs and .gitignore lines naming it follow)"
        )
    for action, count in sorted(summary.items()):
        click.echo(f"  {action:<22} {count}")
    if verbose:
        for entry in result.get("plan", {}).get("entries", []):
            if entry.get("action") != Action.NONE:
                click.echo(f"  {entry['action']:<14} {entry['klass']:<22} {entry['path']}")


def show_session(session: Session) -> None:
    plan = session.results.get("plan") or {}
    if plan.get("up_to_date"):
        click.secho(
            f"Already up to date ({plan.get('to_version')}): nothing was written.",
            fg="green",
            bold=True,
        )
        folder = Path(session.target).name
        for path in plan.get("unresolved") or []:
            click.echo(conflict_line(folder, path, "conflict markers left", Klass.CONFLICT))
        return
    took = sum(session.timings.values())
    click.secho(
        f"Upgrade {session.status}: {plan.get('from_version')} -> {plan.get('to_version')} "
        f"in {took:.1f}s (session {session.id})",
        fg="green" if session.status == "completed" else "yellow",
        bold=True,
    )
    for step in ("content", "server.code"):
        counts: dict[str, int] = {}
        for d in (session.results.get(step) or {}).get("decisions", []):
            counts[d.get("result", "?")] = counts.get(d.get("result", "?"), 0) + 1
        if counts:
            click.echo(f"  {step}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for line in conflict_lines(session):
        click.echo(line)
    backup = session.results.get("backup") or {}
    if backup.get("id"):
        click.echo(f"  backup: {backup.get('path')}")
    for line in venv_lines(session):
        click.echo(f"  venv: {line}")
    restart = session.results.get("server.restart") or {}
    if restart.get("message"):
        click.echo(f"  server: {restart['message']}")
    for check in session.results.get("validation") or []:
        mark = "ok" if check.get("ok") else ("FAILED" if check.get("required") else "warning")
        detail = str(check.get("detail", "")).splitlines()[0] if check.get("detail") else ""
        detail = detail if len(detail) <= 90 else detail[:87] + "..."
        click.echo(f"  check {check.get('name')}: {mark} {detail}".rstrip())
    for path in session.results.get("reports") or []:
        click.echo(f"  report: {path}")


def show_status(status: dict[str, Any]) -> None:
    click.echo(f"Install:   {status['target']}")
    click.echo(f"Installed: {status.get('installed_version') or 'unknown (no baseline yet)'}")
    if status.get("adopted_from"):
        click.echo(f"           (baseline adopted from upstream commit {status['adopted_from']})")
    click.echo(f"Source:    {status.get('source') or '-'} ({status.get('source_version') or '?'})")
    holder = status.get("lock")
    running = f"yes: pid {holder.get('pid')}, session {holder.get('session')}" if holder else "no"
    click.echo(f"Running:   {running}")
    for s in status.get("sessions", []):
        error = (s.get("error") or "").splitlines()[0] if s.get("error") else ""
        state = s["state"]
        if state == "interrupted" and s.get("status") == "rolling_back":
            state = "interrupted while rolling back"  # `praxis-upgrade rollback` finishes it
        line = (
            f"  {s['id']}  {s['kind']:<8} {state:<12} phase {s['phase']} {s['step'] or ''} {error}"
        )
        click.echo(line.rstrip())
    for bad in status.get("corrupt_sessions", []):
        click.secho(
            f"  damaged session file {bad['path']}: {bad['problem']}; the next run, resume or "
            "rollback moves it aside and says what to do",
            fg="red",
        )
    for q in status.get("quarantined_sessions", []):
        how = (
            f"restore its backup with `praxis-upgrade rollback --to {q['unfinished_backup']}`"
            if q.get("unfinished_backup")
            else "nothing of it is left to undo"
        )
        click.secho(f"  damaged session {q['id']} (moved to quarantine/): {how}", fg="red")
    for path in status.get("conflict_leftovers", []):
        click.echo(f"  needs attention: {path}")
    for run in status.get("auto_runs", [])[-3:]:
        result = "ok" if run.get("exit_code") == 0 else f"exit {run.get('exit_code')}"
        click.echo(
            f"  background upgrade by the git hook at {run.get('at')}: "
            f"{result} (log {run.get('log')})"
        )
    for note in status.get("notices", []):
        click.echo(
            f"  update available since {note.get('at')} (source {note.get('source_rev')}): "
            "run `praxis-upgrade run`"
        )


def show_conflict_diffs(yours: str, upstream: str) -> None:
    """A conflict's two changes, each from the base: yours, then upstream's."""
    click.secho("--- your change (base -> yours)", fg="cyan")
    click.echo(yours, nl=False)
    click.secho("--- upstream's change (base -> upstream)", fg="cyan")
    click.echo(upstream, nl=False)


def print_diffs(session_plan: dict, praxis: Path, source: Path) -> None:
    """Unified diffs of every entry that would change; both sides' changes for a conflict."""
    plan, repo = Plan.from_json(session_plan["plan"]), SourceRepo(source)
    for entry in plan.entries:
        if entry.action == Action.NONE or entry.action == Action.KEEP and not entry.is_conflict:
            continue
        click.secho(f"\n{entry.action}: {entry.path} ({entry.klass})", bold=True)
        if entry.reason:
            click.echo(f"  why: {entry.reason}")
        diffs = entry_diffs(entry, praxis, repo)
        if "yours" in diffs:
            show_conflict_diffs(diffs["yours"], diffs["upstream"])
        else:
            click.echo(diffs["change"], nl=False)
