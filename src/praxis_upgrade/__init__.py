"""praxis-upgrade: safely upgrade an installed prAxIs OS from a praxis-os source clone.

What is promised is listed in ``__all__``: the Python API of the README (``run_upgrade``,
``resume_upgrade``, ``rollback_upgrade`` and what they take and return), the plugin surface
(``hookimpl``, ``Context``, ``Options``, ``Session``, ``StepResult``) and the errors. Everything
else is internal and may move; the sandbox for tests and plugin authors is ``praxis_upgrade.demo``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from praxis_upgrade.engine.context import Context, Options  # noqa: E402
from praxis_upgrade.engine.results import StepResult  # noqa: E402
from praxis_upgrade.engine.run import resume_upgrade, rollback_upgrade, run_upgrade  # noqa: E402
from praxis_upgrade.engine.session import Session  # noqa: E402
from praxis_upgrade.errors import (  # noqa: E402
    ConflictsError,
    ExitCode,
    LockedError,
    PluginError,
    PraxisError,
    RollbackError,
    RolledBack,
    UserError,
)
from praxis_upgrade.plugin.spec import hookimpl  # noqa: E402

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
