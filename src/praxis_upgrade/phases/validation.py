"""Default phase 4: start the upgraded server from the project venv and talk MCP to it."""

from __future__ import annotations

from praxis_upgrade.engine.context import Context
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server.probe import Check, probe_server
from praxis_upgrade.server.toolnames import expected_tools


@hookimpl(trylast=True)
def praxis_validate(ctx: Context) -> list[Check]:
    expected = expected_tools(ctx.target / "mcp_server")
    result = probe_server(ctx.target, expected=expected, smoke=not ctx.options.skip_tests)
    return result.checks
