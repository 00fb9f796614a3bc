"""Domain errors: each carries a message, a hint for the user, and the process exit code."""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """Documented exit codes of the `praxis-upgrade` command."""

    OK = 0
    USER_ERROR = 1
    USAGE = 2  # click's own usage errors
    CONFLICTS = 3
    ROLLED_BACK = 4
    LOCKED = 5
    PLUGIN_ERROR = 6
    ROLLBACK_FAILED = 7
    UNFINISHED = 8  # applied and validated, but finishing (phase 5) failed: resume or rollback
    INTERNAL = 70


class PraxisError(Exception):
    """Base of every error this package raises on purpose.

    Subclasses: UserError (bad input; nothing was written), LockedError, PluginError,
    ConflictsError, RolledBack, RollbackError.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UserError(PraxisError):
    """The input is wrong (source, target, options, files); nothing was changed."""

    exit_code = ExitCode.USER_ERROR


class SourceError(UserError):
    """The praxis-os source clone is missing, not a praxis-os repo, or dirty."""


class TargetError(UserError):
    """The target is not a prAxIs OS install, or a path in it is unusable."""


class PathEscapeError(UserError):
    """A path or symlink would lead outside the directory it must stay in."""


class StateError(UserError):
    """A saved session is missing, unknown or corrupt."""


class BaselineError(UserError):
    """The recorded baseline is missing or corrupt."""


class PreflightError(UserError):
    """Pre-flight checks found blocking problems; nothing was written."""

    def __init__(
        self, message: str, *, hint: str | None = None, problems: list[str] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class BackupError(UserError):
    """A backup is missing, incomplete, tampered with, or belongs to another target."""


class LockedError(PraxisError):
    """Another upgrade of the same target holds the lock."""

    exit_code = ExitCode.LOCKED


class PluginError(PraxisError):
    """A plugin failed to load, has a bad hook, or broke while running."""

    exit_code = ExitCode.PLUGIN_ERROR

    def __init__(self, message: str, *, plugin: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.plugin = plugin


class ConflictsError(PraxisError):
    """Conflicts were left unresolved (policy `fail`, or skipped at the prompt); `entries` are
    the conflicting plan entries (as JSON), for the caller to show."""

    exit_code = ExitCode.CONFLICTS

    def __init__(
        self, message: str, *, hint: str | None = None, entries: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.entries = list(entries or [])


class StepFailed(PraxisError):
    """A step of phases 2-4 failed; the engine rolls back and reports RolledBack."""


class DiskFull(StepFailed):
    """The disk ran out of space while the upgrade wrote (ENOSPC); says where and how much."""

    exit_code = ExitCode.USER_ERROR  # before any change; later the engine rolls back or stops


class Unfinished(PraxisError):
    """The upgrade is applied and validated but phase 5 failed; the session stays open."""

    exit_code = ExitCode.UNFINISHED


class RolledBack(PraxisError):
    """The upgrade failed and was rolled back completely."""

    exit_code = ExitCode.ROLLED_BACK


class RollbackError(PraxisError):
    """Rollback could not restore everything; the message says what is left to do."""

    exit_code = ExitCode.ROLLBACK_FAILED
