"""Hook specifications: one per phase concern of the upgrade, plus rollback and reporting.

Every hook takes ``ctx`` (a :class:`praxis_upgrade.engine.context.Context`) first; call and
implement with keyword arguments. A step's result has a type (``praxis_upgrade.engine.results``:
``PlanResult``, ``BackupResult``, ``StopResult``, ``EnvironmentResult``, ``RestartResult``,
``CleanupResult``, ``RollbackResult``; ``ApplyResult`` for content and server code; ``Check``
for validation). Return that type, or a plain JSON dict with the same keys (extra keys are kept):
the engine saves it in the session file so that an interrupted upgrade resumes in a new process,
and later steps read it back typed with ``ctx.result("plan", PlanResult)``. A step that changes
files saves its partial progress with ``ctx.record(step, result)`` before anything that may still
fail, so a rollback knows what it wrote; never write ``ctx.session`` yourself. Hooks marked
*first result* are "who does this?" questions: the first implementation that returns something
other than ``None`` wins, and built-in defaults are registered first (and run last), so an
installed plugin replaces a default just by returning a value. Hooks marked *collect* call every
implementation and gather the non-``None`` results in a list.

Every step must be idempotent: after a crash the engine calls the hook of the interrupted step
again, in a new process, with the same session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from praxis_upgrade.content.apply import ApplyResult
    from praxis_upgrade.engine.context import Context
    from praxis_upgrade.engine.results import (
        BackupResult,
        CleanupResult,
        EnvironmentResult,
        MigrateResult,
        PlanResult,
        RestartResult,
        RollbackResult,
        StopResult,
    )
    from praxis_upgrade.server.probe import Check

hookspec = pluggy.HookspecMarker("praxis_upgrade")
"""Marker for the hook specifications below."""
hookimpl = pluggy.HookimplMarker("praxis_upgrade")
"""Marker for plugin hook implementations: ``@praxis_upgrade.hookimpl``."""

# --------------------------------------------------------------------------------------------
# Phase 0: pre-flight
# --------------------------------------------------------------------------------------------


@hookspec
def praxis_preflight(ctx: Context) -> list[str] | None:
    """Check that the upgrade can start; nothing may be written here.

    Called: once per session, first, before the plan is made.
    Kind: collect. Each implementation returns a list of blocking problems (one line of text
    each, ideally ending with what to do), or ``None``/``[]`` when it found none. Any problem
    stops the run with exit code 1 before anything is written. Raise a
    :class:`~praxis_upgrade.errors.UserError` for a problem that needs its own hint.
    """


@hookspec(firstresult=True)
def praxis_plan(ctx: Context) -> PlanResult | dict[str, Any] | None:
    """Compute the upgrade plan: every managed path, its class, its action, expected hashes.

    Called: once per session, after pre-flight; the result is saved and later phases read it
    from ``ctx.result("plan")``. ``--dry-run`` stops after this step.
    Kind: first result. Return a ``PlanResult`` (or a dict that must contain
    ``"summary"``: counts by
    action, and ``"touched"``: the target-relative paths the upgrade may write or delete), or
    ``None`` to leave planning to the next implementation (the built-in one).
    """


# --------------------------------------------------------------------------------------------
# Phase 1: backup
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def praxis_backup(ctx: Context) -> BackupResult | dict[str, Any] | None:
    """Back up exactly what the plan may touch, and verify the backup before returning.

    Called: once per session, after the plan; skipped by ``--dry-run``.
    Kind: first result. Return a ``BackupResult`` (``id``: the backup id, ...) describing a
    complete, verified
    backup, or ``None`` to leave it to the next implementation.
    """


# --------------------------------------------------------------------------------------------
# Phase 2: content
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def praxis_migrate(ctx: Context) -> MigrateResult | dict[str, Any] | None:
    """Move an install made before the rename (``.agent-os/``) to ``.praxis-os/``.

    Called: once per session, first in phase 2, after the backup; again after a crash, so it
    must be idempotent. The plan says whether a move is due (``PlanResult.migration``).
    A move sets ``ctx.target`` to the new folder (the engine then saves the session there) and
    rewrites the project's IDE configs and ``.gitignore`` lines that name the old folder.
    Kind: first result, optional. Return a ``MigrateResult``, or ``None`` when there is nothing
    to move (or to leave it to the next implementation).
    """


@hookspec(firstresult=True)
def praxis_content(ctx: Context) -> ApplyResult | dict[str, Any] | None:
    """Apply the plan's content entries (standards, workflows, usage) and the ``.gitignore`` block.

    Called: once per session after the backup (again after a resume: must be idempotent).
    Kind: first result. Return an ``ApplyResult`` with per-file decisions
    (``decisions``) and written
    paths, or ``None`` to leave it to the next implementation. Raising rolls the upgrade back.
    """


# --------------------------------------------------------------------------------------------
# Phase 3: server
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def praxis_stop_server(ctx: Context) -> StopResult | dict[str, Any] | None:
    """Stop this project's running MCP server (by its own pid, never by pattern).

    Called: once per session, at the start of phase 3.
    Kind: first result. Return a ``StopResult``: what was found and done
    (including how to start it again), or
    ``None`` to leave it to the next implementation.
    """


@hookspec(firstresult=True)
def praxis_server_code(ctx: Context) -> ApplyResult | dict[str, Any] | None:
    """Apply the plan's server entries (``mcp_server/``, ``scripts/``).

    Called: once per session, after the server was stopped.
    Kind: first result. Return per-file decisions like :func:`praxis_content`, or ``None``.
    """


@hookspec(firstresult=True)
def praxis_environment(ctx: Context) -> EnvironmentResult | dict[str, Any] | None:
    """Bring the project's venv up to the new ``requirements.txt``.

    Called: once per session, after the server code. Must leave the live venv either old or
    new, never half-installed, carry over what the user installed by hand (or name it), and
    return what rollback needs to restore it.
    Kind: first result. Return an ``EnvironmentResult`` (``changed``, ...), or ``None``.
    """


@hookspec(firstresult=True)
def praxis_restart_server(ctx: Context) -> RestartResult | dict[str, Any] | None:
    """Start the server again the way it was started, or say how the user restarts it.

    Called: once per session at the end of phase 3, and after a rollback when the server had
    been running. ``ctx.options.auto_restart`` is False with ``--no-restart``.
    Kind: first result. Return a ``RestartResult`` (``restarted``, ``message``), or ``None``.
    """


# --------------------------------------------------------------------------------------------
# Phase 4: validation
# --------------------------------------------------------------------------------------------


@hookspec
def praxis_validate(ctx: Context) -> list[Check] | list[dict[str, Any]] | None:
    """Check the upgraded install.

    Called: once per session in phase 4 (also by ``praxis-upgrade validate``).
    Kind: collect. Each implementation returns a list of checks
    ``{"name": str, "required": bool, "ok": bool, "detail": str}``, or ``None`` for none.
    A failed required check rolls the upgrade back; a failed wanted one is a warning.
    """


# --------------------------------------------------------------------------------------------
# Phase 5: cleanup
# --------------------------------------------------------------------------------------------


@hookspec
def praxis_cleanup(ctx: Context) -> CleanupResult | dict[str, Any] | None:
    """Finish a successful upgrade: record the new baseline, keep the replaced venv with the
    backup (``ctx.options.keep_venvs``), prune old backups.

    Called: once per successful session, after validation (never after a failure).
    Kind: collect. Return what was done (a ``CleanupResult`` or a dict), or ``None``; each
    implementation's result is one item of the saved list.
    """


# --------------------------------------------------------------------------------------------
# Rollback and reporting
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def praxis_rollback(
    ctx: Context, error: str | None, force: bool
) -> RollbackResult | dict[str, Any] | None:
    """Undo the session's changes from its backup.

    Called: when phase 2, 3 or 4 fails (``error`` is its message), or by
    ``praxis-upgrade rollback`` (``error`` is ``None``); again after a crash mid-rollback, so it
    must be idempotent. ``force`` is True with ``rollback --force``: restore what can be restored
    even from a backup that fails verification. Files come back before the venv, and a venv
    that cannot be restored never keeps the files from coming back (it is listed instead).
    Kind: first result. Return a ``RollbackResult``
    (``complete``, ``unrestorable``, ...), or ``None``
    to leave it to the next implementation. ``complete`` False makes the engine report a
    partial rollback (exit code 7) with the listed manual steps.
    """


@hookspec
def praxis_report(ctx: Context) -> list[str] | None:
    """Write reports about the finished session (any outcome, including dry runs).

    Called: once at the very end of every run, resume or rollback (never for a dry run, which
    writes nothing), after the status is final.
    Kind: collect. Return the paths of the files written, or ``None``.
    """
