"""The `praxis-upgrade` command: parses options, calls the engine, prints. Nothing else prints.

One module per command group; each lists its commands in ``COMMANDS`` and this module adds them
to the main group. Every command meets errors at the one boundary in ``_shared``.
"""

from __future__ import annotations

import click

from praxis_upgrade import __version__
from praxis_upgrade.cli import (
    backups,
    content,
    demo,
    integrations,
    mcp,
    settings,
    status,
    upgrade,
)
from praxis_upgrade.cli._shared import Group, run_group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="praxis-upgrade")
def main_group() -> None:
    """Safely upgrade a project's installed prAxIs OS from a praxis-os source clone."""


for _module in (upgrade, status, content, backups, integrations, settings, demo, mcp):
    for _command in _module.COMMANDS:
        main_group.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    return run_group(main_group, argv, "praxis-upgrade")


__all__ = ["main", "main_group"]
