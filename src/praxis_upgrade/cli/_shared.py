"""What every command shares: the one error boundary, exit handling, common options and prompts."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from praxis_upgrade import store
from praxis_upgrade.cli.output import (
    emit_json,
    show_conflict_diffs,
    show_plan,
    show_session,
    unsettled,
)
from praxis_upgrade.content.vocab import Choice
from praxis_upgrade.engine.session import Session
from praxis_upgrade.errors import ExitCode, PraxisError
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import traceback
else:  # heavy: loaded on first use, for a crash log only
    traceback = lazy_module("traceback")

F = TypeVar("F", bound=Callable[..., Any])


class Exit(click.exceptions.Exit):
    """Leave the command with this exit code (after the boundary has printed the error)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)


@contextlib.contextmanager
def error_boundary(as_json: bool = False) -> Iterator[None]:
    """Turn domain errors into a short message with a hint and the documented exit code.

    With ``as_json`` the error is also one JSON object on stdout, so a machine reader always
    gets an answer; the human lines go to stderr either way.
    """
    try:
        yield
    except PraxisError as e:
        if as_json:
            emit_json(
                {
                    "ok": False,
                    "error": e.message,
                    "hint": e.hint,
                    "exit_code": int(e.exit_code),
                    "kind": type(e).__name__,
                }
            )
        click.secho(f"error: {e.message}", err=True, fg="red")
        if e.hint:
            click.echo(f"hint: {e.hint}", err=True)
        raise Exit(int(e.exit_code)) from None
    except KeyboardInterrupt:
        click.echo(
            "interrupted: `praxis-upgrade resume` continues, `praxis-upgrade rollback` undoes",
            err=True,
        )
        raise Exit(130) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort, Exit, BrokenPipeError):
        raise  # a closed stdout (`| head`) is a normal end: run_group ends quietly
    except Exception as e:
        log = _crash_log()
        if as_json:
            emit_json(
                {
                    "ok": False,
                    "error": f"{type(e).__name__}: {e}",
                    "hint": f"traceback in {log}",
                    "exit_code": int(ExitCode.INTERNAL),
                    "kind": "InternalError",
                }
            )
        click.secho(f"unexpected error: {type(e).__name__}: {e}", err=True, fg="red")
        click.echo(
            f"hint: this is a bug in praxis-upgrade or a plugin; the traceback is in {log}",
            err=True,
        )
        raise Exit(int(ExitCode.INTERNAL)) from None


@contextlib.contextmanager
def stdout_closed_is_the_end() -> Iterator[None]:
    """A reader that closed our stdout (``plan --diff | head``) has all it wants: end the
    command quietly with exit 0, with no traceback and no crash log."""
    try:
        yield
    except BrokenPipeError:
        _stdout_to_devnull()
        raise Exit(int(ExitCode.OK)) from None


class Group(click.Group):
    """The command group: every command (and subgroup) runs with a closed stdout as a normal
    end (click itself would turn it into exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        with stdout_closed_is_the_end():
            return super().invoke(ctx)


def guarded(fn: F) -> F:
    """Run a whole command inside the error boundary (its ``as_json`` option, if any, is
    honoured)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with error_boundary(bool(kwargs.get("as_json"))):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _crash_log() -> Path:
    path = store.crash_log()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")
    return path


def run_group(group: click.Group, argv: list[str] | None, prog_name: str) -> int:
    """Run a click group without click's own exit handling; returns the exit code.

    A reader that closes our stdout early (``praxis-upgrade plan --diff | head``) ends the
    command quietly with exit 0: no traceback and no crash log.
    """
    try:
        # without standalone mode click returns an Exit's code instead of raising it
        result = group.main(
            args=argv, prog_name=prog_name, standalone_mode=False, color=wants_color()
        )
        sys.stdout.flush()  # a pipe closed after the last write breaks here, not at exit
    except BrokenPipeError:
        _stdout_to_devnull()
        return int(ExitCode.OK)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    return result if isinstance(result, int) else 0


def wants_color() -> bool | None:
    """False when the user asked for no colours (``NO_COLOR`` set and not empty, or
    ``TERM=dumb``); None lets click decide (colours on a terminal only)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return None


def _stdout_to_devnull() -> None:
    """Point stdout at the null device, so the interpreter's final flush of what is still
    buffered cannot fail again on the closed pipe (as the Python docs advise for SIGPIPE)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def target_path(target: str | None) -> Path:
    return Path(target) if target else Path.cwd()


target_option = click.option(
    "--target",
    "-t",
    metavar="PATH",
    help="Project (or its .praxis-os). Default: nearest from here upward.",
)
fetch_history_option = click.option(
    "--fetch-history",
    is_flag=True,
    help="If the source is a shallow or single-branch clone, fetch its full history first.",
)
validate_timeout_option = click.option(
    "--validate-timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="How long the server may take to start before validation gives up (default: the "
    "install's setting validate_timeout, else $PRAXIS_UPGRADE_VALIDATE_TIMEOUT, else 180).",
)
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one machine-readable result and nothing else on stdout.",
)


def prompt_conflict(item: dict[str, Any]) -> Choice:
    """Ask about one conflict; an empty answer asks again, it never overwrites."""
    choices = {
        "k": Choice.KEEP_LOCAL,
        "t": Choice.TAKE_UPSTREAM,
        "m": Choice.MERGE,
        "s": Choice.SKIP,
    }
    info = item.get("info") or {}
    while True:
        click.echo(f"\nconflict ({item.get('klass')}): {item['path']}")
        try:
            answer = (
                click.prompt(
                    "  [k]eep yours / [t]ake upstream / [m]erge / [d]iff / [s]kip",
                    default="",
                    show_default=False,
                    err=True,
                )
                .strip()
                .lower()[:1]
            )
        except (
            click.Abort
        ):  # Ctrl-C / Ctrl-D at the prompt: an interrupt (resumable), not a failure
            raise KeyboardInterrupt from None
        if answer == "d":  # the three-way view `plan --diff` gives
            if info.get("binary") or "yours_diff" not in info:
                click.echo(info.get("diff") or "(binary file: no diff)")
            else:
                show_conflict_diffs(info["yours_diff"], info["upstream_diff"])
        elif answer in choices:
            return choices[answer]


def confirm_plan(plan: dict[str, Any]) -> bool:
    """Show the plan's counts and ask before anything is written (skipped with --yes).

    A downgrade says so and is not the default answer."""
    show_plan(plan, verbose=False)
    try:
        if plan.get("downgrade"):
            click.secho(
                f"This is a downgrade: {plan.get('to_version')} is older than the installed "
                f"{plan.get('from_version')}.",
                fg="yellow",
                err=True,
            )
            return click.confirm(f"Downgrade to {plan.get('to_version')}?", default=False, err=True)
        return click.confirm("Apply this upgrade?", default=True, err=True)
    except click.Abort:
        raise KeyboardInterrupt from None


def exit_for(session: Session) -> int:
    return int(ExitCode.CONFLICTS) if unsettled(session) else int(ExitCode.OK)


def finish(session: Session, as_json: bool) -> None:
    """Print a finished session (or its JSON) and leave with its exit code."""
    code = exit_for(session)
    if as_json:
        up_to_date = bool((session.results.get("plan") or {}).get("up_to_date"))
        emit_json(
            {
                "ok": code == 0,
                "exit_code": code,
                "up_to_date": up_to_date,
                "session": session.to_json(),
            }
        )
    else:
        show_session(session)
    if code:
        raise Exit(code)
