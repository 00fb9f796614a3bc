"""CLI commands about content: `plan` (with diffs), `install` (fresh), `adopt` (record a
baseline)."""

from __future__ import annotations

from pathlib import Path

import click

from praxis_upgrade.cli._shared import error_boundary, fetch_history_option, finish, json_option
from praxis_upgrade.cli.output import (
    emit_json,
    plan_conflict_lines,
    print_diffs,
    progress_printer,
    show_plan,
)
from praxis_upgrade.content import adopt, baseline
from praxis_upgrade.content.install import prepare_install
from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.lock import UpgradeLock
from praxis_upgrade.engine.run import run_upgrade
from praxis_upgrade.errors import BaselineError, TargetError
from praxis_upgrade.source import targets
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs


@click.command(name="plan")
@click.option(
    "--source", "-s", metavar="PATH", help="praxis-os source clone (default: remembered)."
)
@click.option("--target", "-t", metavar="PATH")
@click.option("--rev", metavar="REV", help="Source revision (default: HEAD of the clone).")
@click.option(
    "--diff", is_flag=True, help="Show unified diffs; for conflicts your change and upstream's."
)
@fetch_history_option
@click.option("--json", "as_json", is_flag=True, help="The whole plan as JSON.")
def plan_cmd(
    source: str | None,
    target: str | None,
    rev: str | None,
    diff: bool,
    fetch_history: bool,
    as_json: bool,
) -> None:
    """Show what an upgrade would do, file by file. Writes nothing (same as `run --dry-run`)."""
    with error_boundary(as_json):
        session = run_upgrade(
            Path(target) if target else Path.cwd(),
            source_path=source,
            rev=rev,
            dry_run=True,
            fetch_history=fetch_history,
            events=progress_printer(False),
        )
        result = session.results.get("plan") or {}
        if as_json:
            emit_json(result)
            return
        show_plan(result, verbose=True)
        for line in plan_conflict_lines(result, Path(session.target).name, None):
            click.echo(line)
        if diff:
            print_diffs(result, Path(session.target), Path(session.source or ""))


@click.command(name="install")
@click.option("--source", "-s", metavar="PATH", required=True, help="praxis-os source clone.")
@click.option(
    "--rev", metavar="REV", help="Source revision to install (default: HEAD of the clone)."
)
@click.option("--target", "-t", metavar="PATH", help="Project folder (default: current directory).")
@click.option("--no-restart", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def install_cmd(
    source: str, rev: str | None, target: str | None, no_restart: bool, as_json: bool
) -> None:
    """Install prAxIs OS into a project: an upgrade from an empty base, with a baseline recorded."""
    project = Path(target) if target else Path.cwd()
    with error_boundary(as_json):
        praxis = prepare_install(project.resolve(), Path(source), rev=rev)
        session = run_upgrade(
            praxis,
            source_path=source,
            rev=rev,
            conflicts=Policy.KEEP_LOCAL,
            auto_restart=not no_restart,
            assume_yes=True,
            events=progress_printer(not as_json),
        )
    finish(session, as_json)


@click.command(name="adopt")
@click.option(
    "--source", "-s", metavar="PATH", help="praxis-os source clone (default: remembered)."
)
@click.option("--target", "-t", metavar="PATH")
@click.option("--force", is_flag=True, help="Replace an existing baseline.")
@fetch_history_option
@json_option
def adopt_cmd(
    source: str | None, target: str | None, force: bool, fetch_history: bool, as_json: bool
) -> None:
    """Record a baseline for an install that has none (or a corrupt one) from the source's
    history."""
    with error_boundary(as_json):
        praxis = targets.require_install(Path(target) if target else Path.cwd())
        src = targets.resolve_source(praxis, source)
        try:
            existing = baseline.load(praxis)
        except BaselineError:
            existing = None
            broken = Store(praxis).baseline
            fs.atomic_copy(broken, broken.with_name(broken.name + ".corrupt"))
            click.echo(f"the corrupt baseline was kept as {broken.name}.corrupt", err=True)
        if existing is not None and not force:
            raise TargetError(
                f"{praxis} already has a baseline ({existing.version})",
                hint="pass --force to replace it with one adopted from the source's history",
            )
        repo = SourceRepo(src)
        if fetch_history and repo.incomplete_history():
            for command in repo.fetch_history():
                click.echo(f"fetched the source's history: {command}", err=True)
        lock = UpgradeLock(praxis)  # an upgrade must not write the baseline or cache meanwhile
        lock.acquire("adopt")
        try:
            record = adopt.adopt(praxis, repo)
            baseline.save(praxis, record, repo=repo)  # with the base blobs cached for merges
        finally:
            lock.release()
        targets.remember_source(praxis, src)
    fit = record.adoption or {}
    if as_json:
        emit_json(
            {
                "ok": True,
                "version": record.version,
                "adopted_from": record.adopted_from,
                "adoption": fit,
            }
        )
        return
    click.echo(
        f"Adopted: the install matches upstream {record.adopted_from or record.version} "
        f"({fit.get('matched', '?')} of {fit.get('managed', '?')} managed files exactly that "
        "version; the others are your edits)."
    )


COMMANDS = [plan_cmd, install_cmd, adopt_cmd]
