"""CLI commands for backups (`backups list|verify|prune`) and `validate` (phase 4 on its own)."""

from __future__ import annotations

from pathlib import Path

import click

from praxis_upgrade.backups import catalog
from praxis_upgrade.backups.catalog import last_good
from praxis_upgrade.backups.manifest import verify_backup
from praxis_upgrade.cli._shared import (
    Exit,
    error_boundary,
    json_option,
    validate_timeout_option,
)
from praxis_upgrade.cli.output import emit_json, progress_printer
from praxis_upgrade.engine import session as sess
from praxis_upgrade.engine.run import validate_install
from praxis_upgrade.errors import ExitCode
from praxis_upgrade.source import targets


def _install(target: str | None) -> Path:
    return targets.require_install(Path(target) if target else Path.cwd())


@click.group(name="backups")
def backups_group() -> None:
    """List, verify and prune backups under .praxis-os/.backups/."""


@backups_group.command(name="list")
@click.option("--target", "-t", metavar="PATH")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(target: str | None, as_json: bool) -> None:
    """Backups newest first: version, date, size, complete, which is the last good one."""
    with error_boundary(as_json):
        praxis = _install(target)
        rows = catalog.list_backups(praxis)
        good = last_good(praxis)
    if as_json:
        emit_json(
            [{**b.to_json(), "last_good": good is not None and b.id == good.id} for b in rows]
        )
        return
    if not rows:
        click.echo("no backups")
    for b in rows:
        flags = ("complete" if b.complete else "INCOMPLETE") + (
            ", last good" if good and b.id == good.id else ""
        )
        flags += ", venv kept" if b.kept_venv.is_dir() else ""
        flags += ", DAMAGED (see `backups verify`)" if b.damaged else ""
        versions = f"{b.meta.get('from_version') or '?'} -> {b.meta.get('to_version') or '?'}"
        click.echo(
            f"{b.id:<22} {b.created_at:<26} {versions:<22} {b.size / 1024:>9.1f} KiB  {flags}"
        )


@backups_group.command(name="verify")
@click.argument("backup_id", required=False)
@click.option("--target", "-t", metavar="PATH")
@json_option
def verify_cmd(backup_id: str | None, target: str | None, as_json: bool) -> None:
    """Re-check every file of a backup (default: all of them) against its manifest."""
    with error_boundary(as_json):
        praxis = _install(target)
        chosen = (
            [catalog.find_backup(praxis, backup_id)] if backup_id else catalog.list_backups(praxis)
        )
        results = {
            b.id: verify_backup(b.path) if b.complete else ["incomplete: never finished"]
            for b in chosen
        }
    bad = sum(bool(problems) for problems in results.values())
    if as_json:
        emit_json(
            {
                "ok": not bad,
                "backups": [
                    {"id": i, "ok": not problems, "problems": problems}
                    for i, problems in results.items()
                ],
            }
        )
    else:
        for backup_id, problems in results.items():
            click.echo(f"{backup_id}: {'ok' if not problems else 'FAILED'}")
            for p in problems:
                click.echo(f"    {p}")
    if bad:
        raise Exit(int(ExitCode.USER_ERROR))


@backups_group.command(name="prune")
@click.option("--target", "-t", metavar="PATH")
@click.option("--keep", default=3, show_default=True, type=click.IntRange(1))
@json_option
def prune_cmd(target: str | None, keep: int, as_json: bool) -> None:
    """Keep the newest N complete backups (never the last good one or an open session's)."""
    with error_boundary(as_json):
        praxis = _install(target)
        open_ = sess.SessionStore(praxis).open_sessions()
        protect = [s.id for s in open_] + [
            str(s.results["backup"]["id"]) for s in open_ if s.results.get("backup")
        ]
        removed = catalog.prune_backups(praxis, keep, protect=protect)
    if as_json:
        emit_json({"ok": True, "removed": removed})
        return
    click.echo(f"removed {len(removed)} backup(s)" + (": " + ", ".join(removed) if removed else ""))


@click.command(name="validate")
@click.option("--target", "-t", metavar="PATH")
@click.option("--skip-tests", is_flag=True, help="Only the MCP handshake and the tool list.")
@validate_timeout_option
@click.option("--json", "as_json", is_flag=True)
def validate_cmd(
    target: str | None, skip_tests: bool, validate_timeout: float | None, as_json: bool
) -> None:
    """Run phase 4 (validation) alone on an install: start its server and talk MCP to it."""
    with error_boundary(as_json):
        checks = validate_install(
            _install(target),
            skip_tests=skip_tests,
            validate_timeout=validate_timeout,
            events=progress_printer(not as_json),
        )
    failed = [c for c in checks if c.get("required") and not c.get("ok")]
    if as_json:
        emit_json({"ok": not failed, "checks": checks})
    else:
        for c in checks:
            mark = "ok" if c.get("ok") else ("FAILED" if c.get("required") else "warning")
            click.echo(f"{mark:<8} {c.get('name')}: {c.get('detail', '')}")
    if failed:
        raise Exit(int(ExitCode.USER_ERROR))


COMMANDS = [backups_group, validate_cmd]
