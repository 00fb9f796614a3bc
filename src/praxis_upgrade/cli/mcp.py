"""The `mcp` command: serve the upgrade as MCP tools over stdio for AI assistants."""

from __future__ import annotations

import click


@click.command(name="mcp")
def mcp_cmd() -> None:
    """Serve the upgrade as MCP tools over stdio (for AI assistants in the IDE)."""
    # imported here: the tools' schemas need pydantic, which no other command should load
    from praxis_upgrade.integrations.mcp_tools import build_server

    build_server().run("stdio")


COMMANDS: list[click.Command] = [mcp_cmd]
