"""Default phase 3: stop this project's server by pid, upgrade its code and venv, restart it."""

from __future__ import annotations

import time
from collections.abc import Callable

from praxis_upgrade.backups.catalog import find_backup
from praxis_upgrade.content import baseline
from praxis_upgrade.content.apply import ApplyResult
from praxis_upgrade.engine.context import Context
from praxis_upgrade.engine.results import (
    BackupResult,
    EnvironmentResult,
    RestartResult,
    StopResult,
)
from praxis_upgrade.errors import StepFailed
from praxis_upgrade.phases import journal
from praxis_upgrade.phases.content import apply_owner
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server import ideconfig, lifecycle, venv
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs


@hookimpl(trylast=True)
def praxis_stop_server(ctx: Context) -> StopResult:
    found = lifecycle.find_server(ctx.target)
    if found is None:
        return StopResult(state="not-running", message="no server was running for this project")
    if not isinstance(found, lifecycle.ServerProcess):
        return StopResult(state=found.kind, message=found.message)
    stopped = lifecycle.stop_server(found)
    return StopResult(
        state="stopped",
        captured=found.capture().to_json(),
        stop=stopped.to_json(),
        message=f"stopped server pid {found.pid}",
    )


@hookimpl(trylast=True)
def praxis_server_code(ctx: Context) -> ApplyResult:
    result = apply_owner(ctx, "server", "server.code")
    # IDE entries that launch this project's server get what the new server needs (--transport);
    # they were backed up in phase 1 with the other files outside the install
    changes = ideconfig.fix_ide_configs(
        ctx.project, requires_transport=lifecycle.knows_transport(ctx.target / "mcp_server")
    )
    result.ide_configs = [c.to_json() for c in changes]
    for change in changes:
        if change.problem:  # left for the user to edit: said now, and in the report
            ctx.emit("warning", message=f"IDE config: {change.problem}")
    for path in {
        ctx.project / c.path for c in changes if c.changed
    }:  # absolute paths stay absolute
        result.written[str(path)] = fs.sha256_file(path)  # so rollback knows the bytes are ours
    ctx.record("server.code", result)
    journal.save_journal(ctx)
    return result


@hookimpl(trylast=True)
def praxis_environment(ctx: Context) -> EnvironmentResult:
    if Store(ctx.target).previous_venv.exists():
        if ctx.result("server.environment") is not None:  # this session crashed mid-install
            venv.restore_environment(ctx.target, venv.EnvChange.from_json({}))
        else:  # another run's leftover: never taken for the old venv of this one
            aside = venv.set_aside_leftover(ctx.target)
            ctx.emit("warning", message=f"a venv left over by an earlier run was moved to {aside}")
    record = baseline.load(ctx.target, files=lambda _rel: False)  # its environment alone
    before = getattr(record, "environment", None) if record else None
    if not venv.needs_install(ctx.target, before):
        fingerprint = before or venv.requirements_fingerprint(
            ctx.target, venv.venv_python(ctx.target)
        )
        return EnvironmentResult(
            changed=False, fingerprint=fingerprint, message="requirements and interpreter unchanged"
        )
    assert ctx.source is not None
    wheels = ctx.source / "wheels"
    # recorded before the old venv is renamed aside: a resume knows the aside venv is ours
    ctx.record("server.environment", EnvironmentResult(message="building a new venv"))
    change = venv.install_requirements(
        ctx.target,
        find_links=[wheels] if wheels.is_dir() else [],
        no_index=wheels.is_dir(),
        progress=installer_progress(ctx),
        old_requirements=_old_requirements(ctx),
    )
    result = EnvironmentResult(changed=True, change=change.to_json())
    ctx.record("server.environment", result)  # rollback must know, whatever fails next
    for label, why in change.not_carried.items():
        ctx.emit("warning", message=f"not carried into the new venv: {label} ({why})")
    if change.not_carried:
        ctx.emit("warning", message=f"reinstall with: {change.reinstall_command()}")
    for problem in change.carry_problems:
        ctx.emit("warning", message=f"dependency check: {problem}")
    steps = venv.run_post_install(
        ctx.target,
        venv.post_install_steps(
            (ctx.target / "mcp_server" / "requirements.txt").read_text(encoding="utf-8")
        ),
        progress=_post_install_progress(ctx),
    )
    result.fingerprint = venv.requirements_fingerprint(ctx.target, venv.venv_python(ctx.target))
    result.post_install = [s.to_json() for s in steps]
    ctx.record("server.environment", result)
    for step in steps:
        if step.ok:
            continue
        if step.required:
            raise StepFailed(
                f"a required post-install step failed: {step.message}\n{step.output[-1000:]}",
                hint="the upgrade is rolled back; fix the cause shown above and run again",
            )
        ctx.emit("warning", message=f"post-install step failed (wanted): {step.message}")
    return result


def _post_install_progress(ctx: Context) -> Callable[[str], None]:
    """A post-install step's start, then one output line every few seconds at most."""
    last = [0.0]

    def show(line: str) -> None:
        now = time.monotonic()
        if line.startswith("post-install: ") or now - last[0] >= 3:
            last[0] = now
            ctx.emit("info", message=line.strip()[:160])

    return show


def installer_progress(ctx: Context) -> Callable[[str], None]:
    """Show the installer's milestones (a line per package) as progress on a terminal."""

    def show(line: str) -> None:
        milestone = venv.installer_milestone(line)
        if milestone:
            ctx.emit("info", message=milestone)

    return show


def _old_requirements(ctx: Context) -> str:
    """The requirements the old venv was built from: the backup's copy when the upgrade changed
    the file (empty when it added it), else the file as it is."""
    rel = "mcp_server/requirements.txt"
    info = ctx.result("backup", BackupResult) or BackupResult()
    if info.id:
        made = find_backup(ctx.target, info.id)
        manifest = made.manifest()
        entry = manifest.files.get(rel)
        if entry is not None and entry.kind == "file":
            return (made.path / entry.stored).read_text(encoding="utf-8", errors="replace")
        if rel in manifest.absent:
            return ""
    req = ctx.target / rel
    return req.read_text(encoding="utf-8", errors="replace") if req.is_file() else ""


@hookimpl(trylast=True)
def praxis_restart_server(ctx: Context) -> RestartResult:
    stop = ctx.result("server.stop", StopResult) or StopResult()
    if stop.state != "stopped" or stop.captured is None:
        return RestartResult(
            restarted=False, message=stop.message or "server was not running; nothing to restart"
        )
    if not ctx.options.auto_restart:
        return RestartResult(
            restarted=False,
            message="not restarted (--no-restart): start it or reload it in your IDE",
        )
    captured = lifecycle.Captured.from_json(stop.captured)
    # generous: a loaded machine can take a while to start Python and import the server
    outcome = lifecycle.restart_server(captured, ctx.target, extra_args=[], timeout=30)
    return RestartResult.from_json(outcome.to_json())
