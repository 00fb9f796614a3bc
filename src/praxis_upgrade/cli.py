"""The `praxis-upgrade` command: parses options, calls the engine, prints. Nothing else prints."""
from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from praxis_upgrade import __version__, engine, plugins
from praxis_upgrade.cli_output import (
    emit_json,
    progress_printer,
    show_plan,
    show_session,
    show_status,
    unsettled,
)
from praxis_upgrade.context import POLICIES
from praxis_upgrade.errors import BackupError, ExitCode, PraxisError, UserError
from praxis_upgrade.session import Session


class Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@contextlib.contextmanager
def error_boundary(as_json: bool = False) -> Iterator[None]:
    """Turn domain errors into a short message with a hint and the documented exit code."""
    try:
        yield
    except PraxisError as e:
        if as_json:
            emit_json({"ok": False, "error": e.message, "hint": e.hint, "exit_code": int(e.exit_code),
                       "kind": type(e).__name__})
        click.secho(f"error: {e.message}", err=True, fg="red")
        if e.hint:
            click.echo(f"hint: {e.hint}", err=True)
        raise Exit(int(e.exit_code)) from None
    except KeyboardInterrupt:
        click.echo("interrupted: `praxis-upgrade resume` continues, `praxis-upgrade rollback` undoes", err=True)
        raise Exit(130) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort, Exit):
        raise
    except Exception as e:
        log = _crash_log()
        if as_json:
            emit_json({"ok": False, "error": f"{type(e).__name__}: {e}", "hint": f"traceback in {log}",
                       "exit_code": int(ExitCode.INTERNAL), "kind": "InternalError"})
        click.secho(f"unexpected error: {type(e).__name__}: {e}", err=True, fg="red")
        click.echo(f"hint: this is a bug in praxis-upgrade or a plugin; the traceback is in {log}", err=True)
        raise Exit(int(ExitCode.INTERNAL)) from None


def _crash_log() -> Path:
    import platformdirs

    path = platformdirs.user_log_path("praxis-upgrade") / "crash.log"
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")
    return path


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _target(target: str | None) -> Path:
    return Path(target) if target else Path.cwd()


def prompt_conflict(item: dict[str, Any]) -> str:
    """Ask about one conflict; an empty answer asks again, it never overwrites."""
    choices = {"k": "keep-local", "t": "take-upstream", "m": "merge", "s": "skip"}
    info = item.get("info") or {}
    while True:
        click.echo(f"\nconflict ({item.get('klass')}): {item['path']}")
        try:
            answer = click.prompt(
                "  [k]eep yours / [t]ake upstream / [m]erge / [d]iff / [s]kip",
                default="", show_default=False, err=True,
            ).strip().lower()[:1]
        except click.Abort:  # Ctrl-C / Ctrl-D at the prompt: an interrupt (resumable), not a failure
            raise KeyboardInterrupt from None
        if answer == "d":
            click.echo(info.get("diff") or "(binary file: no diff)")
        elif answer in choices:
            return choices[answer]


def confirm_plan(plan: dict[str, Any]) -> bool:
    """Show the plan's counts and ask before anything is written (skipped with --yes)."""
    show_plan(plan, verbose=False)
    try:
        return click.confirm("Apply this upgrade?", default=True, err=True)
    except click.Abort:
        raise KeyboardInterrupt from None


def _exit_for(session: Session) -> int:
    return int(ExitCode.CONFLICTS) if unsettled(session) else int(ExitCode.OK)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="praxis-upgrade")
def main_group() -> None:
    """Safely upgrade a project's installed prAxIs OS from a praxis-os source clone."""


def main(argv: list[str] | None = None) -> int:
    try:
        main_group.main(args=argv, prog_name="praxis-upgrade", standalone_mode=False)
    except Exit as e:
        return e.code
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    return 0


target_option = click.option("--target", "-t", metavar="PATH", help="Project (or its .praxis-os). Default: nearest from here upward.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one machine-readable result and nothing else on stdout.")


@main_group.command()
@click.option("--source", "-s", metavar="PATH", help="praxis-os source clone (remembered after a successful run).")
@target_option
@click.option("--rev", metavar="REV", help="Source revision to upgrade to (default: HEAD of the clone).")
@click.option("--dry-run", is_flag=True, help="Plan only: show what would change and write nothing.")
@click.option("--diff", is_flag=True, help="With --dry-run: unified diffs (for conflicts: your change and upstream's).")
@click.option("--no-restart", is_flag=True, help="Do not restart the MCP server afterwards.")
@click.option("--skip-tests", is_flag=True, help="Skip the validation smoke calls (the MCP handshake still runs).")
@click.option("--keep-backups", default=3, show_default=True, type=click.IntRange(1), help="Backups to keep.")
@click.option("--conflicts", type=click.Choice(POLICIES), help="Conflict policy (default: prompt on a terminal, keep-local otherwise).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.option("--all", "all_projects", is_flag=True, help="Upgrade every registered project from its own source.")
@click.option("--session-id", hidden=True, help="Use this id for the new session (for detached starts).")
def run(source: str | None, target: str | None, rev: str | None, dry_run: bool, diff: bool, no_restart: bool,
        skip_tests: bool, keep_backups: int, conflicts: str | None, yes: bool, as_json: bool,
        all_projects: bool, session_id: str | None) -> None:
    """Upgrade the install from the source clone (all six phases, rollback on failure)."""
    interactive = _interactive() and not as_json
    policy = conflicts or ("prompt" if interactive else "keep-local")
    if policy == "prompt" and not interactive:
        policy = "keep-local"  # a run without a terminal never waits for input
    if all_projects:
        _run_all(policy, as_json, dict(dry_run=dry_run, auto_restart=not no_restart, skip_tests=skip_tests,
                                       keep_backups=keep_backups, assume_yes=yes,
                                       decide=prompt_conflict if policy == "prompt" else None,
                                       events=progress_printer(not as_json)))
        return
    with error_boundary(as_json):
        session = engine.run_upgrade(
            _target(target), source_path=source, dry_run=dry_run, auto_restart=not no_restart,
            skip_tests=skip_tests, keep_backups=keep_backups, conflicts=policy, assume_yes=yes, rev=rev, session_id=session_id,
            decide=prompt_conflict if policy == "prompt" else None, events=progress_printer(not as_json),
            confirm=confirm_plan if interactive and not dry_run else None,
        )
    _finish(session, as_json, plan_only=dry_run, verbose=diff)


def _run_all(policy: str, as_json: bool, options: dict[str, Any]) -> None:
    from praxis_upgrade import multi

    with error_boundary(as_json):
        rows = multi.upgrade_all(conflicts=policy, exit_for=_exit_for, **options)
    code = multi.worst([r["exit_code"] for r in rows])
    if as_json:
        emit_json({"ok": code == 0, "exit_code": code, "projects": rows})
    elif not rows:
        click.echo("No registered projects: register them with `praxis-upgrade hook install --project PATH`.")
    else:
        click.echo(f"{'project':<40} {'from -> to':<22} {'result':<22} conflicts")
        for r in rows:
            versions = f"{r.get('from_version') or '?'} -> {r.get('to_version') or '?'}"
            click.echo(f"{r['project']:<40} {versions:<22} {r['result']:<22} {r.get('conflicts', '-')}")
            if r.get("error"):
                click.echo(f"    {r['error'].splitlines()[0]}")
    if code:
        raise Exit(code)


def _finish(session: Session, as_json: bool, *, plan_only: bool = False, verbose: bool = False) -> None:
    code = 0 if plan_only else _exit_for(session)
    if as_json:
        emit_json({"ok": code == 0, "exit_code": code, "session": session.to_json()})
    elif plan_only:
        show_plan(session.results.get("plan") or {}, verbose=True)
        if verbose:
            from praxis_upgrade.cli_content import print_diffs

            print_diffs(session.results.get("plan") or {}, Path(session.target), Path(session.source or ""))
    else:
        show_session(session)
    if code:
        raise Exit(code)


@main_group.command()
@click.argument("session_id", required=False)
@target_option
@json_option
def resume(session_id: str | None, target: str | None, as_json: bool) -> None:
    """Continue an interrupted upgrade from its last completed step."""
    interactive = _interactive() and not as_json
    with error_boundary(as_json):
        session = engine.resume_upgrade(
            _target(target), session_id, decide=prompt_conflict if interactive else None,
            events=progress_printer(not as_json),
        )
    _finish(session, as_json)


@main_group.command()
@click.argument("session_id", required=False)
@target_option
@click.option("--to", "to_backup", metavar="BACKUP", help="Restore this backup id instead.")
@click.option("--last-good", is_flag=True, help="Restore the backup of the last successful upgrade.")
@click.option("--force", is_flag=True, help="Restore even from a backup that fails verification.")
@json_option
def rollback(session_id: str | None, target: str | None, to_backup: str | None, last_good: bool, force: bool,
             as_json: bool) -> None:
    """Undo an interrupted or finished upgrade from its backup."""
    with error_boundary(as_json):
        if last_good:
            from praxis_upgrade.cli_backups import last_good as find_last_good

            good = find_last_good(engine.targets.require_install(_target(target)))
            if good is None:
                raise BackupError("there is no backup of a successful upgrade to go back to",
                                  hint="`praxis-upgrade backups list` shows the backups there are")
            to_backup = good.id
        session = engine.rollback_upgrade(
            _target(target), session_id, backup=to_backup, force=force, events=progress_printer(not as_json)
        )
    if as_json:
        emit_json({"ok": True, "exit_code": 0, "session": session.to_json()})
    else:
        result = session.results.get("rollback") or {}
        click.secho(f"Rolled back session {session.id}.", fg="green", bold=True)
        for key in ("restored", "removed", "kept_user_files"):
            if result.get(key):
                click.echo(f"  {key.replace('_', ' ')}: {len(result[key])}")
        for path in result.get("displaced") or []:
            click.echo(f"  changed by someone else, kept beside it: {path}")


@main_group.command()
@target_option
@json_option
def status(target: str | None, as_json: bool) -> None:
    """Show installed and source versions, sessions, and whether an upgrade is running."""
    from praxis_upgrade.status import get_status

    with error_boundary(as_json):
        data = get_status(_target(target))
    emit_json(data) if as_json else show_status(data)


@main_group.command(name="plugins")
@json_option
def plugins_cmd(as_json: bool) -> None:
    """List plugins in call order with the hooks each implements."""
    with error_boundary(as_json):
        rows = plugins.describe(plugins.get_plugin_manager())
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        dist = f" [{row['distribution']}]" if row["distribution"] else ""
        click.echo(f"{row['name']}{dist} ({row['module']})")
        for hook in row["hooks"]:
            click.echo(f"    {hook}")


@main_group.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Build the sandbox here (kept).")
@click.option("--scale", default=1.0, show_default=True, help="Sandbox size (1 = a real install).")
@json_option
def demo(directory: str | None, scale: float, as_json: bool) -> None:
    """Build a realistic sandbox (source + install with your edits) and upgrade it end to end."""
    import tempfile

    from praxis_upgrade import sandbox

    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="praxis-upgrade-demo-"))
    with error_boundary(as_json):
        if base.exists() and any(base.iterdir()):
            raise UserError(f"{base} is not empty", hint="pass a new or empty folder to --dir")
        if not as_json:
            click.echo(f"Building a sandbox in {base} ...", err=True)
        built = sandbox.make_demo(base, scale=scale)
        session = engine.run_upgrade(
            built.target.project, source_path=built.source.path, conflicts="keep-local", assume_yes=True,
            events=progress_printer(not as_json),
        )
    if as_json:
        emit_json({"ok": True, "dir": str(base), "session": session.to_json()})
        return
    show_session(session)
    click.echo("")
    click.echo(f"Source clone:  {built.source.path} (tags {', '.join(built.source.tags)})")
    click.echo(f"Project:       {built.target.project}")
    click.echo("Your edits were kept; conflicts left upstream's version beside yours as *.praxis-upstream.")
    click.echo(f"Look around:   praxis-upgrade status --target {built.target.project}")
    click.echo(f"Undo it:       praxis-upgrade rollback --target {built.target.project}")


@main_group.command(name="mcp")
def mcp_cmd() -> None:
    """Serve the upgrade as MCP tools over stdio (for AI assistants in the IDE)."""
    from praxis_upgrade.mcptools import build_server

    build_server().run("stdio")


def _add_commands() -> None:
    """Commands that live in their own modules (they import this one, so they come last)."""
    from praxis_upgrade import cli_backups, cli_content, cli_integrations

    for module in (cli_content, cli_backups, cli_integrations):
        for command in module.COMMANDS:
            main_group.add_command(command)


_add_commands()
