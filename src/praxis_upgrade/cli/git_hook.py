"""What the git hook runs (``python -m praxis_upgrade.cli.git_hook``): only the integration
commands.

Kept apart from the main command so that nothing but these commands is involved in a `git pull`.
"""

from __future__ import annotations

import sys

import click

from praxis_upgrade.cli._shared import run_group
from praxis_upgrade.cli.integrations import COMMANDS


@click.group("praxis-upgrade-integrations")
def standalone() -> None:
    """Just these commands; the git hook runs them so a broken plugin cannot break `git pull`."""


for _command in COMMANDS:
    standalone.add_command(_command)

if __name__ == "__main__":
    sys.exit(run_group(standalone, None, "praxis-upgrade"))
