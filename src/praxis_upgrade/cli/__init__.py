"""The `praxis-upgrade` command: parses options, calls the engine, prints. Nothing else prints.

One module per command group; each lists its commands in ``COMMANDS``. The main group knows
which module holds which command (``HOMES``) and imports only the one asked for, so
``praxis-upgrade status`` does not load the planner and ``run`` does not load the demo or the
MCP tools. Every command meets errors at the one boundary in ``_shared``.
"""

from __future__ import annotations

import importlib

import click

from praxis_upgrade import __version__
from praxis_upgrade.cli._shared import Group, run_group

HOMES = {
    "run": "upgrade",
    "resume": "upgrade",
    "rollback": "upgrade",
    "status": "status",
    "history": "status",
    "plugins": "status",
    "plan": "content",
    "install": "content",
    "adopt": "content",
    "backups": "backups",
    "validate": "backups",
    "hook": "integrations",
    "vscode": "integrations",
    "settings": "settings",
    "demo": "demo",
    "mcp": "mcp",
}  # command name -> the module of cli/ that defines it (a test keeps it equal to COMMANDS)


class LazyGroup(Group):
    """The main group: a command's module is imported when that command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 (click signature)
        return sorted(HOMES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002
        home = HOMES.get(cmd_name)
        if home is None:
            return None
        module = importlib.import_module(f"praxis_upgrade.cli.{home}")
        return next((c for c in module.COMMANDS if c.name == cmd_name), None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="praxis-upgrade")
def main_group() -> None:
    """Safely upgrade a project's installed prAxIs OS from a praxis-os source clone."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    return run_group(main_group, argv, "praxis-upgrade")


__all__ = ["HOMES", "main", "main_group"]
