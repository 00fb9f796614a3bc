"""praxis-upgrade: safely upgrade an installed prAxIs OS from a praxis-os source clone.

What is promised is listed in ``__all__``: the Python API of the README (``run_upgrade``,
``resume_upgrade``, ``rollback_upgrade`` and what they take and return), the plugin surface
(``hookimpl``, ``Context``, ``Options``, ``Session``, ``StepResult``) and the errors. Everything
else is internal and may move; the sandbox for tests and plugin authors is ``praxis_upgrade.demo``.

The names are imported on first use (PEP 562), so a command that needs only a corner of the
package — ``status``, ``--version``, the git hook's check — does not pay for the engine, the
planner and GitPython at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from praxis_upgrade.engine.context import Context, Options
    from praxis_upgrade.engine.results import StepResult
    from praxis_upgrade.engine.run import resume_upgrade, rollback_upgrade, run_upgrade
    from praxis_upgrade.engine.session import Session
    from praxis_upgrade.errors import (
        ConflictsError,
        ExitCode,
        LockedError,
        PluginError,
        PraxisError,
        RollbackError,
        RolledBack,
        UserError,
    )
    from praxis_upgrade.plugin.spec import hookimpl

_HOME = {
    "Context": "engine.context",
    "Options": "engine.context",
    "StepResult": "engine.results",
    "resume_upgrade": "engine.run",
    "rollback_upgrade": "engine.run",
    "run_upgrade": "engine.run",
    "Session": "engine.session",
    "ConflictsError": "errors",
    "ExitCode": "errors",
    "LockedError": "errors",
    "PluginError": "errors",
    "PraxisError": "errors",
    "RollbackError": "errors",
    "RolledBack": "errors",
    "UserError": "errors",
    "hookimpl": "plugin.spec",
}
_SUBPACKAGES = {
    "backups",
    "cli",
    "content",
    "demo",
    "engine",
    "errors",
    "integrations",
    "phases",
    "plugin",
    "server",
    "source",
    "store",
    "util",
}


def __getattr__(name: str) -> Any:
    """Import a public name from the module that holds it, the first time it is asked for."""
    home = _HOME.get(name)
    if home is None:
        if name in _SUBPACKAGES:  # `praxis_upgrade.errors` after a bare `import praxis_upgrade`
            return importlib.import_module(f"praxis_upgrade.{name}")
        raise AttributeError(f"module 'praxis_upgrade' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"praxis_upgrade.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names as well as those already imported."""
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "ConflictsError",
    "Context",
    "ExitCode",
    "LockedError",
    "Options",
    "PluginError",
    "PraxisError",
    "RollbackError",
    "RolledBack",
    "Session",
    "StepResult",
    "UserError",
    "__version__",
    "hookimpl",
    "resume_upgrade",
    "rollback_upgrade",
    "run_upgrade",
]
