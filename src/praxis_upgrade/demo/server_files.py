"""Text of the stand-in server package and its tool modules, per release (stdlib-only code)."""

from __future__ import annotations

import json

from praxis_upgrade.demo.releases import TOOL_GROUPS, Release
from praxis_upgrade.demo.server_main import main_module

_RAG = '''"""RAG tools: search_standards (stand-in: grep over the standards tree)."""
import re


def register_rag_tools(mcp, ctx):
    @mcp.tool()
    def search_standards(query: str, n_results: int = 5, filter_phase: int = None,
                         filter_tags: list = None):
        """Search prAxIs OS standards for guidance (semantic search; here a grep stand-in)."""
        words = [w for w in re.findall(r"\\w+", query.lower()) if len(w) > 2] or [query.lower()]
        hits = []
        for path in sorted(ctx.standards_path.rglob("*.md")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            score = sum(text.lower().count(w) for w in words)
            if score:
                first = next((ln for ln in text.splitlines()
                              if any(w in ln.lower() for w in words)), "")
                hits.append({"content": first[:500],
                             "file": str(path.relative_to(ctx.project_root)),
                             "section": text.splitlines()[0].lstrip("# ") if text else "",
                             "relevance_score": score, "tokens": len(first.split())})
        hits.sort(key=lambda h: -h["relevance_score"])
        indexed = (ctx.index_path / (ctx.index_table + ".lance")).is_dir()
        return {"results": hits[: int(n_results)], "total_results": len(hits), "query": query,
                "search_method": "vector" if indexed else "grep_fallback",
                "index_table": ctx.index_table}
'''

_BROWSER = '''"""Browser tools (stand-in: Playwright is never available in the sandbox)."""


def register_browser_tools(mcp, ctx):
    @mcp.tool()
    def @NAME@(action: str, url: str = None, session_id: str = None, selector: str = None):
        """Browser automation via Playwright (navigate, screenshot, click, ...)."""
        return {"status": "unavailable", "action": action,
                "reason": "browser support is not installed in this environment"}
'''

_SERVER_INFO = '''"""Server information tools: always registered."""
import datetime
import time


def register_server_info_tools(mcp, ctx):
@TOOLS@
'''

_GET_SERVER_INFO = '''    @mcp.tool()
    def get_server_info():
        """Return server version, transport, pid, project and the tools available."""
        return {"version": ctx.version, "pid": ctx.pid, "transport": ctx.transport,
                "tools_available": list(ctx.tools),
                "server": {"version": ctx.version, "transport_mode": ctx.transport, "pid": ctx.pid,
                           "uptime_seconds": round(time.time() - ctx.started, 3),
                           "started_at": ctx.started_at, "port": ctx.port},
                "project": {"name": ctx.project_root.name, "root": str(ctx.project_root),
                            "praxis_os_path": str(ctx.base)},
                "capabilities": {"tools_available": list(ctx.tools),
                                 "rag_enabled": "search_standards" in ctx.tools}}
'''

_CURRENT_DATE = '''    @mcp.tool()
    def current_date():
        """Return the current date and time (use it instead of guessing dates)."""
        now = datetime.datetime.now().astimezone()
        return {"iso_date": now.date().isoformat(), "iso_datetime": now.isoformat(),
                "day_of_week": now.strftime("%A"), "month": now.strftime("%B"), "year": now.year,
                "unix_timestamp": int(now.timestamp()),
                "formatted": {"spec_directory": now.strftime("%Y-%m-%d-"),
                              "header": now.strftime("**Date**: %Y-%m-%d"),
                              "readable": now.strftime("%B %d, %Y")}}
'''

_SESSIONS = '''"""Workflow helpers shared by the workflow tools: metadata listing and session files."""
import json
import os
import uuid


def list_workflows(ctx):
    found = []
    for meta in sorted(ctx.workflows_path.glob("*/metadata.json")):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append({"name": data.get("name", meta.parent.name), "directory": meta.parent.name,
                      "version": data.get("version"), "total_phases": data.get("total_phases"),
                      "description": data.get("description")})
    return {"workflows": found, "count": len(found)}


def start(ctx, workflow_type, target_file):
    if not (ctx.workflows_path / workflow_type / "metadata.json").is_file():
        raise ValueError("unknown workflow: %s" % workflow_type)
    state = {"session_id": str(uuid.uuid4()), "workflow_type": workflow_type,
             "target_file": target_file, "current_phase": 0, "completed_phases": [],
             "phase_artifacts": {}, "checkpoints": {}, "metadata": {}}
    save(ctx, state)
    return state


def save(ctx, state):
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.state_dir / (state["session_id"] + ".json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def load(ctx, session_id):
    path = ctx.state_dir / (str(uuid.UUID(session_id)) + ".json")
    return json.loads(path.read_text(encoding="utf-8"))


def phase_file(ctx, state, phase):
    path = ctx.workflows_path / state["workflow_type"] / "phases" / str(phase) / "phase.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
'''

_LEGACY_BODIES = {
    "start_workflow": (
        "workflow_type: str, target_file: str",
        "Start a workflow session.",
        "sessions.start(ctx, workflow_type, target_file)",
    ),
    "get_current_phase": (
        "session_id: str",
        "Get the current phase of a session.",
        "{'phase': sessions.load(ctx, session_id)['current_phase']}",
    ),
    "get_task": (
        "session_id: str, phase: int, task_number: int",
        "Get one task of a phase.",
        "{'session_id': session_id, 'phase': phase, 'task_number': task_number}",
    ),
    "complete_phase": (
        "session_id: str, phase: int, evidence: dict",
        "Submit evidence and complete a phase.",
        "{'session_id': session_id, 'phase': phase, 'checkpoint_passed': True}",
    ),
    "get_workflow_state": (
        "session_id: str",
        "Get the full state of a session.",
        "sessions.load(ctx, session_id)",
    ),
    "create_workflow": (
        "name: str, workflow_type: str = 'standard'",
        "Create a new workflow.",
        "{'name': name, 'created': False, 'reason': 'use workflow_creation_v1'}",
    ),
    "validate_workflow": (
        "workflow_path: str",
        "Validate a workflow definition.",
        "{'workflow_path': workflow_path, 'valid': True}",
    ),
}

_CONSOLIDATED = '''"""Workflow tools: one consolidated action-dispatch tool."""
from mcp_server.server.tools.workflow_tools import actions


def register_workflow_tools(mcp, ctx):
    @mcp.tool()
    def @NAME@(action: str, session_id: str = None, workflow_type: str = None,
               target_file: str = None, phase: int = None, task_number: int = None,
               evidence: dict = None):
        """Workflow management: list_workflows, start, get_phase, get_task, complete_phase, get_state."""
        return actions.dispatch(ctx, action, session_id=session_id, workflow_type=workflow_type,
                                target_file=target_file, phase=phase, task_number=task_number,
                                evidence=evidence)
'''

_ACTIONS = '''"""Action handlers behind the consolidated workflow tool."""
from mcp_server.server.tools import sessions

ACTIONS = ("list_workflows", "start", "get_phase", "get_task", "complete_phase", "get_state",
           "list_sessions")


def dispatch(ctx, action, **kw):
    if action == "list_workflows":
        return sessions.list_workflows(ctx)
    if action == "start":
        return sessions.start(ctx, kw["workflow_type"], kw["target_file"])
    if action in ("get_phase", "get_state"):
        state = sessions.load(ctx, kw["session_id"])
        if action == "get_state":
            return state
        return {"phase": state["current_phase"],
                "content": sessions.phase_file(ctx, state, state["current_phase"])}
    if action == "get_task":
        return {"session_id": kw["session_id"], "phase": kw["phase"],
                "task_number": kw["task_number"]}
    if action == "complete_phase":
        state = sessions.load(ctx, kw["session_id"])
        state["completed_phases"].append(state["current_phase"])
        state["current_phase"] += 1
        sessions.save(ctx, state)
        return {"checkpoint_passed": True, "next_phase": state["current_phase"]}
    if action == "list_sessions":
        return {"sessions": sorted(p.stem for p in ctx.state_dir.glob("*.json"))}
    raise ValueError("unknown action %r; expected one of %s" % (action, ", ".join(ACTIONS)))
'''


def _legacy_workflow_module(names: tuple[str, ...]) -> str:
    out = [
        '"""Workflow tools: one tool per workflow operation (legacy API)."""',
        "from mcp_server.server.tools import sessions",
        "",
        "",
        "def register_workflow_tools(mcp, ctx):",
    ]
    for name in names:
        args, doc, body = _LEGACY_BODIES[name]
        out += [
            "    @mcp.tool()",
            f"    def {name}({args}):",
            f'        """{doc}"""',
            f"        return {body}",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def _registry(rel: Release) -> str:
    lines = [
        '"""Tool registration: imports each tool module of an enabled group."""',
        "import importlib",
        "",
        "MODULES = [",
    ]
    for module in rel.tool_modules:
        lines.append(f'    ("{TOOL_GROUPS[module]}", "{module}", "register_{module}"),')
    lines += [
        "]",
        "",
        "",
        "def register_all_tools(mcp, ctx, groups):",
        "    for group, module, func in MODULES:",
        '        if group != "always" and group not in groups:',
        "            continue",
        '        mod = importlib.import_module("mcp_server.server.tools." + module)',
        "        getattr(mod, func)(mcp, ctx)",
        "",
    ]
    return "\n".join(lines)


def tool_files(rel: Release) -> dict[str, str]:
    """`mcp_server/server/...` files declaring this release's tools with `@mcp.tool()`."""
    base = "mcp_server/server/tools/"
    files = {
        "mcp_server/server/__init__.py": '"""MCP server components."""\n',
        base + "__init__.py": '"""MCP tool modules."""\n',
        base + "registry.py": _registry(rel),
        base + "sessions.py": _SESSIONS,
    }
    for module, names in rel.tool_modules.items():
        if module == "rag_tools":
            files[base + "rag_tools.py"] = _RAG
        elif module == "browser_tools":
            files[base + "browser_tools.py"] = _BROWSER.replace("@NAME@", names[0])
        elif module == "server_info_tools":
            parts = {"get_server_info": _GET_SERVER_INFO, "current_date": _CURRENT_DATE}
            files[base + "server_info_tools.py"] = _SERVER_INFO.replace(
                "@TOOLS@", "\n".join(parts[n] for n in names).rstrip("\n")
            )
        elif rel.workflow_tools_package:
            files[base + "workflow_tools/__init__.py"] = _CONSOLIDATED.replace("@NAME@", names[0])
            files[base + "workflow_tools/actions.py"] = _ACTIONS
        else:
            files[base + "workflow_tools.py"] = _legacy_workflow_module(names)
    return files


def package_files(rel: Release) -> dict[str, str]:
    """Release-dependent files of `mcp_server/` (entry point, requirements, tools, IDE
    artifacts)."""
    files = {
        "mcp_server/__init__.py": f'"""prAxIs OS MCP server."""\n\n__version__ = "{rel.version}"\n',
        "mcp_server/__main__.py": main_module(rel),
        "mcp_server/requirements.txt": (
            "# prAxIs OS MCP server dependencies (sandbox: offline wheels in <source>/wheels)\n"
            f"fakedep=={rel.fakedep}\n"
        ),
        "mcp_server/.cursor/mcp.json": json.dumps(
            {"mcpServers": {"agent-os-rag": {"command": "python", "args": ["-m", "mcp_server"]}}},
            indent=2,
        )
        + "\n",
        "mcp_server/.agent-os/workflows/spec_execution_v1/metadata.json": json.dumps(
            {"name": "spec_execution_v1", "version": "0.9.0", "note": "stale dogfood artifact"},
            indent=2,
        )
        + "\n",
    }
    files.update(tool_files(rel))
    return files


BUILD_INDEX = '''"""Build the RAG index (sandbox stand-in: records file mtimes, writes a tiny table dir)."""
import argparse
import json
import time
from pathlib import Path

TABLE = "@TABLE@"


class IndexBuilder:
    def __init__(self, index_path, standards_path):
        self.index_path, self.standards_path = Path(index_path), Path(standards_path)

    def build(self):
        files = sorted(self.standards_path.rglob("*.md"))
        table = self.index_path / (TABLE + ".lance")
        table.mkdir(parents=True, exist_ok=True)
        for i in range(0, len(files), 50):
            (table / ("data-%04d.lance" % (i // 50))).write_text(
                "\\n".join(map(str, files[i:i + 50])))
        meta = {"build_time": time.time(), "source_files": len(files),
                "total_chunks": len(files) * 4, "embedding_provider": "local", "table": TABLE,
                "files_mtimes": {str(f.relative_to(self.standards_path)): f.stat().st_mtime
                                 for f in files}}
        (self.index_path / "metadata.json").write_text(json.dumps(meta, indent=2))
        return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-path", default=".praxis-os/.cache/vector_index")
    parser.add_argument("--standards-path", default=".praxis-os/standards")
    args = parser.parse_args()
    IndexBuilder(args.index_path, args.standards_path).build()


if __name__ == "__main__":
    main()
'''


def build_index_script(rel: Release) -> str:
    return BUILD_INDEX.replace("@TABLE@", rel.index_table)
