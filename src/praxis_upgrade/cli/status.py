"""Read-only commands: `status` of an install and the `plugins` in call order."""

from __future__ import annotations

from typing import Any

import click

from praxis_upgrade.cli._shared import error_boundary, json_option, target_option, target_path
from praxis_upgrade.cli.output import emit_json, show_status
from praxis_upgrade.engine.history import generations
from praxis_upgrade.engine.status import get_status
from praxis_upgrade.plugin import manager
from praxis_upgrade.source import targets


@click.command(name="status")
@target_option
@json_option
def status_cmd(target: str | None, as_json: bool) -> None:
    """Show installed and source versions, sessions, and whether an upgrade is running."""
    with error_boundary(as_json):
        data = get_status(target_path(target))
    emit_json(data) if as_json else _show(data)


def _show(data: dict[str, Any]) -> None:
    """The status; a baseline that cannot be read is said to be so (not "no baseline yet"),
    with the way to rebuild it."""
    broken = data.get("baseline") in ("corrupt", "unreadable")
    if not broken:
        show_status(data)
        return
    show_status({**data, "installed_version": f"unknown (the baseline is {data['baseline']})"})
    click.secho(f"  {data['baseline_error']}", fg="red")
    if data.get("baseline_hint"):
        click.echo(f"  hint: {data['baseline_hint']}")


@click.command(name="plugins")
@json_option
def plugins_cmd(as_json: bool) -> None:
    """List plugins in call order with the hooks each implements."""
    with error_boundary(as_json):
        rows = manager.describe(manager.get_plugin_manager())
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        dist = f" [{row['distribution']}]" if row["distribution"] else ""
        click.echo(f"{row['name']}{dist} ({row['module']})")
        for hook in row["hooks"]:
            click.echo(f"    {hook}")


@click.command(name="history")
@target_option
@json_option
def history_cmd(target: str | None, as_json: bool) -> None:
    """Generations: every upgrade that changed the install, newest first, and the way back."""
    with error_boundary(as_json):
        rows = generations(targets.require_install(target_path(target)))
    if as_json:
        emit_json({"generations": [g.to_json() for g in rows]})
        return
    if not rows:
        click.echo("No upgrades recorded yet (runs with nothing to do make none).")
    for g in rows:
        versions = f"{g.from_version or '?'} -> {g.to_version or '?'}"
        way = f"backup {g.backup}" if g.backup_kept else "backup pruned: no way back past here"
        click.echo(f"{g.number:>3}  {g.date:<26} {versions:<22} {g.outcome:<12} {way}")


COMMANDS: list[click.Command] = [status_cmd, history_cmd, plugins_cmd]
