"""`praxis-upgrade settings`: show or change the install's own settings."""

from __future__ import annotations

import click

from praxis_upgrade.cli._shared import error_boundary, json_option, target_option, target_path
from praxis_upgrade.cli.output import emit_json
from praxis_upgrade.errors import TargetError
from praxis_upgrade.source import targets

SETTABLE = {"validate-timeout": "validate_timeout"}
"""Settings a user sets by name here (the source is remembered by `run`)."""


@click.command(name="settings")
@click.argument("name", required=False, type=click.Choice(sorted(SETTABLE)))
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove the setting (back to the default).")
@target_option
@json_option
def settings_cmd(
    name: str | None, value: str | None, unset: bool, target: str | None, as_json: bool
) -> None:
    """Show the install's settings, or set one: `settings validate-timeout 300`.

    validate-timeout: seconds the upgraded server may take to start before validation gives up
    (the real server loads an embedding model; default 180).
    """
    with error_boundary(as_json):
        praxis = targets.require_install(target_path(target))
        data = targets.settings(praxis)
        if name is not None and (value is not None or unset):
            data = targets.update_settings(praxis, **{SETTABLE[name]: _parsed(value, unset)})
    if as_json:
        emit_json(data)
        return
    for key, val in sorted(data.items()):
        click.echo(f"{key.replace('_', '-')}: {val}")
    if not data:
        click.echo("no settings (defaults apply)")


def _parsed(value: str | None, unset: bool) -> float | None:
    if unset:
        return None
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise TargetError(
            f"validate-timeout must be a number of seconds, not {value!r}",
            hint="e.g. `praxis-upgrade settings validate-timeout 300`",
        )
    return seconds


COMMANDS = [settings_cmd]
