"""Default pre-flight: the source is a clean praxis-os clone and the target a usable install."""

from __future__ import annotations

from praxis_upgrade.engine.context import Context
from praxis_upgrade.errors import SourceError, TargetError
from praxis_upgrade.plugin.spec import hookimpl
from praxis_upgrade.server import probe, venv
from praxis_upgrade.source import targets


@hookimpl(trylast=True)
def praxis_preflight(ctx: Context) -> list[str]:
    assert ctx.source is not None
    repo = ctx.repo
    if repo.is_dirty():
        raise SourceError(
            f"the source clone {ctx.source} has uncommitted changes in the installable trees",
            hint="commit or stash them in the source clone (`git status` there), then run again",
        )
    problems = []

    try:
        venv.venv_python(ctx.target)
    except TargetError as e:
        text = f"{e.message} ({e.hint})" if e.hint else e.message
        if ctx.options.dry_run:  # a plan does not need the venv; the upgrade will
            ctx.emit("warning", message=text)
        else:
            problems.append(text)
    try:  # a bad limit is refused now, not after the files were written
        probe.resolve_limits(ctx.options.validate_timeout, targets.settings(ctx.target))
    except TargetError as e:
        problems.append(f"{e.message} ({e.hint})" if e.hint else e.message)
    if ctx.options.rev:
        try:
            repo.resolve(ctx.options.rev)
        except Exception:
            problems.append(f"revision {ctx.options.rev!r} does not exist in {ctx.source}")
    return problems
