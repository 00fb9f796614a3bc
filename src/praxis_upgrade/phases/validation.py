"""Default phase 4: start the upgraded server from the project venv and talk MCP to it."""

from __future__ import annotations

from praxis_upgrade.engine.context import Context
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server.probe import Check, probe_server, resolve_limits
from praxis_upgrade.server.toolnames import expected_tools
from praxis_upgrade.source import targets
from praxis_upgrade.store import Store


@hookimpl(trylast=True)
def praxis_validate(ctx: Context) -> list[Check]:
    # parsed once per server file content; the config's tool groups are applied afresh
    expected = expected_tools(ctx.target / "mcp_server", cache=Store(ctx.target).toolnames_cache)
    result = probe_server(
        ctx.target,
        expected=expected,
        smoke=not ctx.options.skip_tests,
        limits=resolve_limits(ctx.options.validate_timeout, targets.settings(ctx.target)),
        progress=lambda line: ctx.emit("info", message=line),
    )
    checks = result.checks
    if result.server_version or result.framework_version:
        own = result.server_version or "unknown"
        checks.append(
            Check(
                "server version",
                False,
                result.server_version is not None,
                f"{own} (the prAxIs server's own; its MCP framework says "
                f"{result.framework_version})",
            )
        )
    return checks
