"""The source -> target layout: one table saying which installed paths upstream owns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """Files under `source` in the praxis-os clone are installed under `target`."""

    source: str
    target: str
    owner: str  # "content" | "server"


#: The whole mapping (source -> target, as installed upstream). Order matters only for
#: readability: prefixes never overlap.
RULES: tuple[Rule, ...] = (
    Rule("universal/standards/", "standards/universal/", "content"),
    Rule("universal/workflows/", "workflows/", "content"),
    Rule("universal/usage/", "usage/", "content"),  # legacy: only in sources before 2025-10-23
    Rule("mcp_server/", "mcp_server/", "server"),
    Rule("scripts/", "scripts/", "server"),
)

#: Never installed, wherever they appear (caches, editor folders, byte code).
EXCLUDED_NAMES: frozenset[str] = frozenset(
    {
        "__pycache__",
        ".DS_Store",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".cursor",
        ".praxis-os",
    }
)
EXCLUDED_SUFFIXES: tuple[str, ...] = (".pyc", ".pyo")

#: Tool and runtime paths inside the install: never planned, never backed up as content.
PROTECTED: tuple[str, ...] = (
    "venv/",
    ".venv/",
    ".cache/",
    ".backups/",
    ".praxis-upgrade/",
    ".mcp_server_state.json",
    ".mcp_server_state.tmp",
    "standards/.rebuild_index",
    ".upgrade-lock",
    ".upgrade_lock",
)

#: Suffix of the file that holds the upstream version beside a kept-local conflict.
SIDE_SUFFIX = ".praxis-upstream"

OWNERS = ("content", "server")
INSTALLABLE_SOURCE_DIRS: tuple[str, ...] = tuple(r.source.rstrip("/") for r in RULES)
MANAGED_TARGET_DIRS: tuple[str, ...] = tuple(r.target.rstrip("/") for r in RULES)


def _excluded(rel: str) -> bool:
    return rel.endswith(EXCLUDED_SUFFIXES) or not EXCLUDED_NAMES.isdisjoint(rel.split("/"))


def is_protected(target_rel: str) -> bool:
    """True for the tool's and the server's runtime paths (venv, caches, backups, state)."""
    for p in PROTECTED:
        if p.endswith("/") and (target_rel + "/").startswith(p):
            return True
        if target_rel == p:
            return True
    return False


def to_target(src_rel: str) -> str | None:
    """Where a source file is installed, or None if upstream does not install it."""
    if _excluded(src_rel):
        return None
    for rule in RULES:
        if src_rel.startswith(rule.source) and len(src_rel) > len(rule.source):
            return rule.target + src_rel[len(rule.source) :]
    return None


def to_source(target_rel: str) -> str | None:
    """The source path an installed file comes from, or None if no rule covers it."""
    if _excluded(target_rel) or is_protected(target_rel):
        return None
    for rule in RULES:
        if target_rel.startswith(rule.target) and len(target_rel) > len(rule.target):
            return rule.source + target_rel[len(rule.target) :]
    return None


def owner_of(target_rel: str) -> str:
    """ "content", "server", "runtime" or "user" for a path relative to `.praxis-os`.

    This is the area a path lies in. Inside an upstream area, a path upstream never shipped
    (a custom workflow, a stray file) is still the user's: the plan only manages paths that the
    recorded baseline or the new source contain.
    """
    if is_protected(target_rel) or _excluded(target_rel):
        return "runtime"
    for rule in RULES:
        if target_rel.startswith(rule.target):
            return rule.owner
    return "user"


def side_file(target_rel: str) -> str:
    """The path of the upstream copy left beside a kept-local conflict."""
    return target_rel + SIDE_SUFFIX
