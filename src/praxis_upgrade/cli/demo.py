"""The `demo` command: build a realistic sandbox and upgrade it end to end."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from praxis_upgrade import demo
from praxis_upgrade.cli._shared import error_boundary, json_option
from praxis_upgrade.cli.output import emit_json, progress_printer, show_session
from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.run import run_upgrade
from praxis_upgrade.errors import UserError


@click.command(name="demo")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False), help="Build the sandbox here (kept)."
)
@click.option("--scale", default=1.0, show_default=True, help="Sandbox size (1 = a real install).")
@json_option
def demo_cmd(directory: str | None, scale: float, as_json: bool) -> None:
    """Build a realistic sandbox (source + install with your edits) and upgrade it end to end."""
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="praxis-upgrade-demo-"))
    with error_boundary(as_json):
        if base.exists() and any(base.iterdir()):
            raise UserError(f"{base} is not empty", hint="pass a new or empty folder to --dir")
        if not as_json:
            click.echo(f"Building a sandbox in {base} ...", err=True)
        built = demo.make_demo(base, scale=scale)
        session = run_upgrade(
            built.target.project,
            source_path=built.source.path,
            conflicts=Policy.KEEP_LOCAL,
            assume_yes=True,
            events=progress_printer(not as_json),
        )
    if as_json:
        emit_json({"ok": True, "dir": str(base), "session": session.to_json()})
        return
    show_session(session)
    click.echo("")
    click.echo(f"Source clone:  {built.source.path} (tags {', '.join(built.source.tags)})")
    click.echo(f"Project:       {built.target.project}")
    click.echo(
        "Your edits were kept; conflicts left upstream's version beside yours as *.praxis-upstream."
    )
    click.echo(f"Look around:   praxis-upgrade status --target {built.target.project}")
    click.echo(f"Undo it:       praxis-upgrade rollback --target {built.target.project}")


COMMANDS: list[click.Command] = [demo_cmd]
