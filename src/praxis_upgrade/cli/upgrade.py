"""The upgrade commands: `run` (also `--all` and `--dry-run`), `resume` and `rollback`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from praxis_upgrade.backups import catalog
from praxis_upgrade.cli._shared import (
    Exit,
    confirm_plan,
    error_boundary,
    exit_for,
    fetch_history_option,
    finish,
    interactive,
    json_option,
    prompt_conflict,
    target_option,
    target_path,
    validate_timeout_option,
)
from praxis_upgrade.cli.output import (
    emit_json,
    plan_conflict_lines,
    print_diffs,
    progress_printer,
    show_plan,
)
from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.run import (
    resume_upgrade,
    rollback_to_version,
    rollback_upgrade,
    run_upgrade,
)
from praxis_upgrade.engine.session import Session
from praxis_upgrade.errors import BackupError, ConflictsError, PraxisError, UserError
from praxis_upgrade.integrations import multi
from praxis_upgrade.source import targets


@click.command(name="run")
@click.option(
    "--source",
    "-s",
    metavar="PATH",
    help="praxis-os source clone (remembered after a successful run).",
)
@target_option
@click.option(
    "--rev", metavar="REV", help="Source revision to upgrade to (default: HEAD of the clone)."
)
@click.option(
    "--dry-run", is_flag=True, help="Plan only: show what would change and write nothing."
)
@click.option(
    "--diff",
    is_flag=True,
    help="With --dry-run: unified diffs (for conflicts: your change and upstream's).",
)
@click.option("--no-restart", is_flag=True, help="Do not restart the MCP server afterwards.")
@click.option(
    "--skip-tests",
    is_flag=True,
    help="Skip the validation smoke calls (the MCP handshake still runs).",
)
@click.option(
    "--keep-backups", default=3, show_default=True, type=click.IntRange(1), help="Backups to keep."
)
@click.option(
    "--keep-venvs",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help="Newest backups that keep the venv they replaced, for an offline rollback (0: none).",
)
@click.option(
    "--conflicts",
    type=click.Choice([p.value for p in Policy]),
    help="Conflict policy (default: prompt on a terminal, keep-local otherwise).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--no-downgrade",
    is_flag=True,
    help="Refuse a downgrade even with --yes (the git hook and the MCP tools pass it).",
)
@fetch_history_option
@validate_timeout_option
@json_option
@click.option(
    "--all",
    "all_projects",
    is_flag=True,
    help="Upgrade every registered project from its own source.",
)
@click.option(
    "--session-id", hidden=True, help="Use this id for the new session (for detached starts)."
)
def run_cmd(
    source: str | None,
    target: str | None,
    rev: str | None,
    dry_run: bool,
    diff: bool,
    no_restart: bool,
    skip_tests: bool,
    keep_backups: int,
    keep_venvs: int,
    validate_timeout: float | None,
    conflicts: str | None,
    yes: bool,
    no_downgrade: bool,
    fetch_history: bool,
    as_json: bool,
    all_projects: bool,
    session_id: str | None,
) -> None:
    """Upgrade the install from the source clone (all six phases, rollback on failure)."""
    on_terminal = interactive() and not as_json
    policy = (
        Policy(conflicts) if conflicts else (Policy.PROMPT if on_terminal else Policy.KEEP_LOCAL)
    )
    if policy == Policy.PROMPT and not on_terminal:
        policy = Policy.KEEP_LOCAL  # a run without a terminal never waits for input
    if all_projects:
        _run_all(
            policy,
            as_json,
            dict(
                dry_run=dry_run,
                auto_restart=not no_restart,
                skip_tests=skip_tests,
                keep_backups=keep_backups,
                keep_venvs=keep_venvs,
                validate_timeout=validate_timeout,
                no_downgrade=no_downgrade,
                assume_yes=yes,
                decide=prompt_conflict if policy == Policy.PROMPT else None,
                events=progress_printer(not as_json),
            ),
        )
        return
    with error_boundary(as_json), _refusal_shown(not as_json, target):
        session = run_upgrade(
            target_path(target),
            source_path=source,
            dry_run=dry_run,
            auto_restart=not no_restart,
            skip_tests=skip_tests,
            keep_backups=keep_backups,
            keep_venvs=keep_venvs,
            validate_timeout=validate_timeout,
            no_downgrade=no_downgrade,
            conflicts=policy,
            assume_yes=yes,
            rev=rev,
            fetch_history=fetch_history,
            session_id=session_id,
            decide=prompt_conflict if policy == Policy.PROMPT else None,
            events=progress_printer(not as_json),
            confirm=confirm_plan if on_terminal and not dry_run else None,
        )
    if dry_run:
        _finish_plan(session, as_json, diffs=diff)
    else:
        finish(session, as_json)


def _run_all(policy: str, as_json: bool, options: dict[str, Any]) -> None:
    with error_boundary(as_json):
        rows = multi.upgrade_all(conflicts=policy, exit_for=exit_for, **options)
    code = multi.worst([r["exit_code"] for r in rows])
    if as_json:
        emit_json({"ok": code == 0, "exit_code": code, "projects": rows})
    elif not rows:
        click.echo(
            "No registered projects: "
            "register them with `praxis-upgrade hook install --project PATH`."
        )
    else:
        click.echo(f"{'project':<40} {'from -> to':<22} {'result':<22} conflicts")
        for r in rows:
            versions = f"{r.get('from_version') or '?'} -> {r.get('to_version') or '?'}"
            click.echo(
                f"{r['project']:<40} {versions:<22} {r['result']:<22} {r.get('conflicts', '-')}"
            )
            if r.get("error"):
                click.echo(f"    {r['error'].splitlines()[0]}")
    if code:
        raise Exit(code)


@contextlib.contextmanager
def _refusal_shown(show: bool, target: str | None) -> Iterator[None]:
    """When `--conflicts fail` refuses, first print each conflict as every mode does (the
    error carries the conflicting plan entries)."""
    try:
        yield
    except ConflictsError as e:
        if show:
            with contextlib.suppress(PraxisError, OSError):
                folder = targets.require_install(target_path(target)).name
                refused = {"plan": {"entries": e.entries}}
                for line in plan_conflict_lines(refused, folder, Policy.FAIL):
                    click.echo(line)
        raise


def _finish_plan(session: Session, as_json: bool, *, diffs: bool) -> None:
    if as_json:
        emit_json({"ok": True, "exit_code": 0, "session": session.to_json()})
        return
    plan = session.results.get("plan") or {}
    show_plan(plan, verbose=True)
    policy = session.options.get("conflicts")
    for line in plan_conflict_lines(plan, Path(session.target).name, policy):
        click.echo(line)
    if diffs:
        print_diffs(
            session.results.get("plan") or {}, Path(session.target), Path(session.source or "")
        )


@click.command(name="resume")
@click.argument("session_id", required=False)
@target_option
@validate_timeout_option
@json_option
def resume_cmd(
    session_id: str | None, target: str | None, validate_timeout: float | None, as_json: bool
) -> None:
    """Continue an interrupted upgrade from its last completed step."""
    on_terminal = interactive() and not as_json
    with error_boundary(as_json):
        session = resume_upgrade(
            target_path(target),
            session_id,
            validate_timeout=validate_timeout,
            decide=prompt_conflict if on_terminal else None,
            events=progress_printer(not as_json),
        )
    finish(session, as_json)


@click.command(name="rollback")
@click.argument("session_id", required=False)
@target_option
@click.option("--to", "to_backup", metavar="BACKUP", help="Restore this backup id instead.")
@click.option(
    "--last-good", is_flag=True, help="Restore the backup of the last successful upgrade."
)
@click.option(
    "--to-version",
    metavar="VERSION",
    help="Go back to this version, rolling back each newer upgrade (see `history`).",
)
@click.option("--force", is_flag=True, help="Restore even from a backup that fails verification.")
@json_option
def rollback_cmd(
    session_id: str | None,
    target: str | None,
    to_backup: str | None,
    last_good: bool,
    to_version: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Undo an interrupted or finished upgrade (by default the newest one) from its backup."""
    with error_boundary(as_json):
        chosen = [
            o
            for o, on in (
                ("SESSION_ID", session_id),
                ("--to", to_backup),
                ("--last-good", last_good),
                ("--to-version", to_version),
            )
            if on
        ]
        if len(chosen) > 1:
            raise UserError(
                f"{' and '.join(chosen)} cannot be combined",
                hint="name one way back: a session, a backup, --last-good or --to-version",
            )
        if to_version:
            session = rollback_to_version(
                target_path(target), to_version, force=force, events=progress_printer(not as_json)
            )
            _show_rollback(session, as_json)
            return
        if last_good:
            good = catalog.last_good(targets.require_install(target_path(target)))
            if good is None:
                raise BackupError(
                    "there is no backup of a successful upgrade to go back to",
                    hint="`praxis-upgrade backups list` shows the backups there are",
                )
            to_backup = good.id
        session = rollback_upgrade(
            target_path(target),
            session_id,
            backup=to_backup,
            force=force,
            events=progress_printer(not as_json),
        )
    _show_rollback(session, as_json)


def _show_rollback(session: Session, as_json: bool) -> None:
    version = (session.results.get("plan") or {}).get("from_version")
    if as_json:
        emit_json({"ok": True, "exit_code": 0, "version": version, "session": session.to_json()})
    else:
        result = session.results.get("rollback") or {}
        back = f": the install is at {version} again" if version else ""
        click.secho(f"Rolled back session {session.id}{back}.", fg="green", bold=True)
        for key in ("restored", "removed", "kept_user_files"):
            if result.get(key):
                click.echo(f"  {key.replace('_', ' ')}: {len(result[key])}")
        for path in result.get("displaced") or []:
            click.echo(f"  changed by someone else, kept beside it: {path}")
        if result.get("venv"):
            click.echo(f"  venv: {result['venv']}")


COMMANDS: list[click.Command] = [run_cmd, resume_cmd, rollback_cmd]
