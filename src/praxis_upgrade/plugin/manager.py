"""The plugin manager: built-in defaults first, then entry-point plugins that may override them."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from collections.abc import Iterable
from types import ModuleType, TracebackType
from typing import Any

import pluggy

from praxis_upgrade.errors import PluginError
from praxis_upgrade.plugin import spec

GROUP = "praxis_upgrade"
BUILTIN_PLUGINS = (
    "praxis_upgrade.phases.preflight",
    "praxis_upgrade.phases.plan",
    "praxis_upgrade.phases.backup",
    "praxis_upgrade.phases.migrate",
    "praxis_upgrade.phases.content",
    "praxis_upgrade.phases.server",
    "praxis_upgrade.phases.validation",
    "praxis_upgrade.phases.cleanup",
    "praxis_upgrade.phases.rollback",
    "praxis_upgrade.phases.report",
)
DISABLE_ENV = "PRAXIS_UPGRADE_DISABLE_PLUGINS"
TRACE_ENV = "PRAXIS_UPGRADE_TRACE_PLUGINS"


def builtin_name(module: str) -> str:
    return "builtin-" + module.rsplit(".", 1)[-1]


def disabled_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def get_plugin_manager(
    *,
    load_entrypoints: bool = True,
    disabled: Iterable[str] | None = None,
    extra: Iterable[Any] = (),
) -> pluggy.PluginManager:
    """Build a fresh plugin manager.

    Built-ins are registered first and entry points (group ``praxis_upgrade``) after, so an
    installed plugin's first-result hook runs before the default it replaces. ``disabled``
    (default: ``$PRAXIS_UPGRADE_DISABLE_PLUGINS``, comma separated) blocks plugins by name,
    built-ins included (``builtin-validation``). ``extra`` plugin objects are registered last
    (tests and Python callers).

    Raises:
        PluginError: a plugin failed to import or implements a hook that does not exist.
    """
    blocked = set(disabled_from_env() if disabled is None else disabled)
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(spec)
    for name in blocked:
        pm.set_blocked(name)
    for module in BUILTIN_PLUGINS:
        _register(pm, importlib.import_module(module), builtin_name(module))
    if load_entrypoints:
        for ep in importlib.metadata.entry_points(group=GROUP):
            if ep.name in blocked or pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as e:  # any import failure of third-party code
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}",
                    plugin=ep.name,
                    hint=f"fix or uninstall it, or skip it with {DISABLE_ENV}={ep.name}",
                ) from e
            _register(pm, plugin, ep.name)
    for obj in extra:
        _register(pm, obj, None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        name = pm.get_name(e.plugin) or repr(e.plugin)
        raise PluginError(
            f"plugin {name!r} implements an unknown hook: {e}",
            plugin=name,
            hint="check the hook names against `praxis-upgrade plugins --hooks`, "
            f"or {DISABLE_ENV}={name}",
        ) from e
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(f"[praxis-upgrade plugins] {msg}"))
        pm.enable_tracing()
    return pm


def _register(pm: pluggy.PluginManager, plugin: Any, name: str | None) -> None:
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as e:
        label = name or repr(plugin)
        raise PluginError(
            f"plugin {label!r} could not be registered: {e}",
            plugin=label,
            hint=f"fix the plugin, or skip it with {DISABLE_ENV}={label}",
        ) from e


def describe(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Registered plugins in call order with the hooks each implements (for `plugins`)."""
    dists = {
        ep.name: ep.dist.name for ep in importlib.metadata.entry_points(group=GROUP) if ep.dist
    }
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
        dist = dists.get(name) if not name.startswith("builtin-") else None
        rows.append({"name": name, "module": module, "distribution": dist, "hooks": hooks})
    return rows


def culprit(pm: pluggy.PluginManager, tb: TracebackType | None) -> str | None:
    """Name the plugin whose code raised, from the innermost traceback frame that belongs to one."""
    modules = {}
    for name, plugin in pm.list_name_plugin():
        mod = (
            plugin.__name__
            if isinstance(plugin, ModuleType)
            else getattr(type(plugin), "__module__", None)
        )
        if mod:
            modules[mod] = name
    found = None
    while tb is not None:
        mod = tb.tb_frame.f_globals.get("__name__", "")
        if mod in modules:
            found = modules[mod]
        tb = tb.tb_next
    return found
