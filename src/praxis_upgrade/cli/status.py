"""Read-only commands: `status` of an install and the `plugins` in call order."""

from __future__ import annotations

import click

from praxis_upgrade.cli._shared import error_boundary, json_option, target_option, target_path
from praxis_upgrade.cli.output import emit_json, show_status
from praxis_upgrade.engine.status import get_status
from praxis_upgrade.plugin import manager


@click.command(name="status")
@target_option
@json_option
def status_cmd(target: str | None, as_json: bool) -> None:
    """Show installed and source versions, sessions, and whether an upgrade is running."""
    with error_boundary(as_json):
        data = get_status(target_path(target))
    emit_json(data) if as_json else show_status(data)


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


COMMANDS: list[click.Command] = [status_cmd, plugins_cmd]
