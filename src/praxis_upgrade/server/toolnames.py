"""The MCP tool names a server version defines, read from its source (``@mcp.tool()`` functions)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

SKIP_DIRS = {"__pycache__", "tests", "test", ".pytest_cache", ".mypy_cache", "venv", ".venv"}
_FALLBACK = re.compile(
    r"@\w+\.tool\((?:[^)]*?name\s*=\s*['\"](\w+)['\"])?[^)]*\)\s*\n\s*(?:async\s+)?def\s+(\w+)"
)


def group_of(tool: str) -> str:
    """The ``enabled_tool_groups`` group a tool belongs to; ``always`` for tools never switched
    off."""
    if tool.endswith("_workflow"):
        return "workflow"
    if tool.endswith("_browser"):
        return "browser"
    if tool == "search_standards":
        return "rag"
    return "always"


def server_dir(path: Path) -> Path:
    """The ``mcp_server`` directory for a source clone, a ``.praxis-os`` target, or the dir
    itself."""
    if path.name == "mcp_server" or not (path / "mcp_server").is_dir():
        return path
    return path / "mcp_server"


def _decorated_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for deco in node.decorator_list:
        call = deco if isinstance(deco, ast.Call) else None
        func = call.func if call else deco
        if isinstance(func, ast.Attribute) and func.attr == "tool":
            for kw in call.keywords if call else []:
                if (
                    kw.arg == "name"
                    and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, str)
                ):
                    return kw.value.value
            return node.name
    return None


def tools_in_file(path: Path) -> set[str]:
    """Names of the ``@<x>.tool(...)``-decorated functions defined in one Python file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError:
        return {name or func for name, func in _FALLBACK.findall(text)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = _decorated_name(node)
            if name:
                found.add(name)
    return found


def enabled_groups(target: Path) -> set[str] | None:
    """``mcp.enabled_tool_groups`` from ``<target>/config.json``; None when unset or unreadable."""
    try:
        data = json.loads((target / "config.json").read_text(encoding="utf-8"))
        groups = data["mcp"]["enabled_tool_groups"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(groups, list):
        return None
    return {str(g) for g in groups}


def expected_tools(path: Path, *, groups: set[str] | None = None) -> set[str]:
    """The tools a server at ``path`` should register.

    Args:
        path: a source clone, a ``.praxis-os`` target, or an ``mcp_server`` directory.
        groups: enabled tool groups; by default the target's ``config.json`` is honoured when
            ``path`` is (inside) an install that has one, otherwise every tool is expected.

    Returns:
        Tool names: every ``@mcp.tool()`` function (or its ``name=``) under ``mcp_server/``,
        minus the tools of disabled groups.
    """
    root = server_dir(Path(path))
    tools: set[str] = set()
    for file in sorted(root.rglob("*.py")):
        if SKIP_DIRS.intersection(file.relative_to(root).parts[:-1]):
            continue
        tools |= tools_in_file(file)
    if groups is None:
        groups = enabled_groups(root.parent)
    if groups is not None:
        tools = {t for t in tools if group_of(t) == "always" or group_of(t) in groups}
    return tools
