"""The phases and their steps in order: which hook runs each step and how its results are
gathered."""

from __future__ import annotations

import dataclasses

PHASES = {0: "pre-flight", 1: "backup", 2: "content", 3: "server", 4: "validation", 5: "cleanup"}
ROLLBACK_PHASES = (2, 3, 4)
FINISH_PHASE = 5  # a failure here leaves the session open (resume finishes, rollback undoes)


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a phase: its name (the key of its saved result), phase number and hook."""

    name: str
    phase: int
    hook: str
    collect: bool = False
    optional: bool = False  # no implementation (None) is fine: the step has nothing to do


STEPS = (
    Step("preflight", 0, "praxis_preflight", collect=True),
    Step("plan", 0, "praxis_plan"),
    Step("backup", 1, "praxis_backup"),
    Step("migrate", 2, "praxis_migrate", optional=True),
    Step("content", 2, "praxis_content"),
    Step("server.stop", 3, "praxis_stop_server"),
    Step("server.code", 3, "praxis_server_code"),
    Step("server.environment", 3, "praxis_environment"),
    Step("server.restart", 3, "praxis_restart_server"),
    Step("validation", 4, "praxis_validate", collect=True),
    Step("cleanup", 5, "praxis_cleanup", collect=True),
)
