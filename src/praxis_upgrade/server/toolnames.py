"""The MCP tool names a server version defines, read from its source (``@mcp.tool()`` functions)."""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import functools
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from praxis_upgrade.util import fs

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
    return tools_in_source(path.read_bytes(), path)


def tools_in_source(data: bytes, path: Path) -> set[str]:
    """``tools_in_file`` for a file's bytes (read as UTF-8, bad bytes replaced; ``path`` only
    names it in parse errors)."""
    # without an "@" there is no decorator, and an ASCII file without "tool" names no such
    # attribute (only non-ASCII identifiers may normalise to it): nothing to parse
    if b"@" not in data or (b"tool" not in data and data.isascii()):
        return set()
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
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


def expected_tools(
    path: Path, *, groups: set[str] | None = None, cache: Path | None = None
) -> set[str]:
    """The tools a server at ``path`` should register.

    Args:
        path: a source clone, a ``.praxis-os`` target, or an ``mcp_server`` directory.
        groups: enabled tool groups; by default the target's ``config.json`` is honoured when
            ``path`` is (inside) an install that has one, otherwise every tool is expected.
        cache: a file remembering each server file's tools by its content hash (the install's
            ``Store.toolnames_cache``): unchanged files are neither parsed nor, when their
            ``stat`` is unchanged and not racy, even read. None: parse every file.

    Returns:
        Tool names: every ``@mcp.tool()`` function (or its ``name=``) under ``mcp_server/``,
        minus the tools of disabled groups (applied after the cache, never cached).
    """
    root = server_dir(Path(path))
    if cache is None:
        tools: set[str] = set()
        for _rel, file in server_files(root):
            tools |= tools_in_file(Path(file))
    else:
        tools = _cached_tools(root, cache)
    if groups is None:
        groups = enabled_groups(root.parent)
    if groups is not None:
        tools = {t for t in tools if group_of(t) == "always" or group_of(t) in groups}
    return tools


def server_files(root: Path) -> list[tuple[str, str]]:
    """(``/``-separated path relative to ``root``, full path) of every ``*.py`` under ``root``
    outside ``SKIP_DIRS``, sorted; linked folders are not followed (as ``Path.rglob``)."""
    top = os.fspath(root)
    found = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        prefix = os.path.relpath(folder, top).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        for name in files:
            if fnmatch.fnmatch(name, "*.py"):
                found.append((prefix + name, os.path.join(folder, name)))
    found.sort()
    return found


# -- the cache: tools by content hash, content hash by stat ---------------------------------------
_FORMAT = "praxis-upgrade/toolnames"
_VERSION = 1
_RACY_NS = 2_000_000_000
"""A file's ``stat`` vouches for its content only if it was older than this when recorded (as
git's racy-clean rule): a write in the same timestamp tick as our read keeps size and times."""
_SHA = re.compile(r"[0-9a-f]{64}")


@functools.lru_cache(maxsize=1)
def _parser_id() -> str:
    """What the cached answers depend on besides a file's bytes: this module's code and the
    Python grammar; a cache written by another of either is ignored."""
    try:
        own = fs.sha256_bytes(Path(__file__).read_bytes())[:16]
    except OSError:
        own = "unknown"
    return f"{_VERSION}/py{sys.version_info[0]}.{sys.version_info[1]}/{own}"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _record(value: Any) -> list[Any] | None:
    """A cached ``[size, mtime_ns, ctime_ns, inode, sha256, recorded_ns]``, or None when the
    value is not one."""
    if (
        isinstance(value, list)
        and len(value) == 6
        and all(type(v) is int for v in value[:4] + value[5:])
        and isinstance(value[4], str)
        and _SHA.fullmatch(value[4])
    ):
        return value
    return None


def _names(value: Any) -> list[str] | None:
    """Cached tool names, or None when the value is not a list of them."""
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        return value
    return None


def _load(cache: Path, root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(relative path -> record, sha256 -> tool names) as the cache holds them, each value
    checked where it is used; empty for a missing, corrupt or foreign cache. Records of another
    folder are dropped: stats say nothing about its files."""
    try:
        doc = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        return {}, {}
    if not (
        isinstance(doc, dict)
        and doc.get("format") == _FORMAT
        and doc.get("parser") == _parser_id()
        and isinstance(doc.get("files"), dict)
        and isinstance(doc.get("tools"), dict)
    ):
        return {}, {}
    return (doc["files"] if doc.get("root") == str(root) else {}), doc["tools"]


def _cached_tools(root: Path, cache: Path) -> set[str]:
    """Every tool under ``root``, parsing only files whose content the cache does not know;
    the cache is rewritten (not durably: it is only a cache) when anything in it changed."""
    old_files, old_tools = _load(cache, root)
    now = time.time_ns()  # before any stat: a later write to a file is not older than this
    files: dict[str, list[Any]] = {}
    tools: dict[str, list[str]] = {}
    for rel, path in server_files(root):
        rec = _record(old_files.get(rel))
        names = _names(old_tools.get(rec[4])) if rec is not None else None
        if rec is not None and names is not None:
            st = os.stat(path)
            if _stat_key(st) != rec[:4] or max(st.st_mtime_ns, st.st_ctime_ns) >= rec[5] - _RACY_NS:
                names = None  # changed, or racy: the content decides
        if rec is not None and names is not None:
            files[rel] = rec
            tools[rec[4]] = names
            continue
        with open(path, "rb") as f:
            key, data = _stat_key(os.fstat(f.fileno())), f.read()
        sha = fs.sha256_bytes(data)
        files[rel] = [*key, sha, now]
        if sha not in tools:
            known = _names(old_tools.get(sha))
            tools[sha] = known if known is not None else sorted(tools_in_source(data, Path(path)))
    kept = _kept(tools, old_files, old_tools)
    if files != old_files or kept != old_tools:
        doc = {
            "format": _FORMAT,
            "parser": _parser_id(),
            "root": str(root),
            "files": files,
            "tools": kept,
        }
        data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")
        with contextlib.suppress(OSError):  # a cache that cannot be written costs time only
            fs.atomic_write_bytes(cache, data, sync=False)
    return {name for names in tools.values() for name in names}


def _kept(
    tools: dict[str, list[str]], old_files: dict[str, Any], old_tools: dict[str, Any]
) -> dict[str, list[str]]:
    """The tools the cache keeps: this tree's, and those of the tree before it (a rollback or
    the next upgrade finds them); nothing older, so the cache never grows."""
    before = {r[4] for r in map(_record, old_files.values()) if r is not None}
    if before == tools.keys():
        before = set(old_tools)  # the same tree again: keep what the last write kept
    kept = dict(tools)
    for sha in before - tools.keys():
        names = _names(old_tools.get(sha))
        if names is not None and _SHA.fullmatch(sha):
            kept[sha] = names
    return kept
