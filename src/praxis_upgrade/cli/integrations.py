"""The `hook` and `vscode` commands: git post-merge hook, project registry, VS Code tasks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from praxis_upgrade.cli._shared import guarded
from praxis_upgrade.engine import registry
from praxis_upgrade.integrations import githook, vscode

_path = click.Path(path_type=Path, file_okay=False)


@click.group("hook")
def hook_group() -> None:
    """Post-merge git hook in your praxis-os clone: notice (or run) upgrades after `git pull`."""


def _default_projects(projects: tuple[Path, ...]) -> list[Path]:
    if projects:
        return list(projects)
    return [Path.cwd()] if (Path.cwd() / ".praxis-os").is_dir() else []


@hook_group.command("install")
@click.option("--source", type=_path, default=".", show_default=True, help="Your praxis-os clone.")
@click.option(
    "--project",
    "projects",
    type=_path,
    multiple=True,
    help="Project with .praxis-os/ to upgrade from it "
    "(repeatable; default: this dir if it has one).",
)
@click.option(
    "--mode",
    type=click.Choice(registry.MODES),
    default="notify",
    show_default=True,
    help="notify: print a line after a pull; auto: upgrade in the background.",
)
@guarded
def hook_install(source: Path, projects: tuple[Path, ...], mode: str) -> None:
    """Install the post-merge hook into the clone and register projects for it."""
    change = githook.install(source, _default_projects(projects), mode)
    state = "installed" if change.changed else "already up to date:"
    click.echo(f"post-merge hook {state} {change.hook}")
    if githook.uses_hooks_path(source):
        click.echo(f"note: core.hooksPath is set, so the hook went into {change.hook.parent}")
    if change.legacy:
        click.echo(f"your previous hook is now {change.legacy}; it still runs first")
    for project in change.projects:
        click.echo(f"registered {project} ({mode})")
    if change.projects and mode == "auto":
        click.echo(
            "auto: a pull that changes universal/, mcp_server/ or scripts/ starts "
            "`praxis-upgrade run --conflicts keep-local --yes` in the background; "
            "results: `praxis-upgrade hook list`"
        )
    if not change.projects:
        click.echo("no project registered yet: rerun with --project PATH (a dir with .praxis-os/)")


@hook_group.command("uninstall")
@click.option("--source", type=_path, default=".", show_default=True, help="Your praxis-os clone.")
@click.option(
    "--project",
    "projects",
    type=_path,
    multiple=True,
    help="Forget only these projects (default: all of this clone's).",
)
@guarded
def hook_uninstall(source: Path, projects: tuple[Path, ...]) -> None:
    """Forget projects; remove the hook (restoring a previous one) when none remain."""
    change = githook.uninstall(source, list(projects) or None)
    for project in change.projects:
        click.echo(f"forgot {project}")
    if change.legacy:
        click.echo(f"restored your previous hook at {change.hook}")
    elif change.changed:
        click.echo(f"removed {change.hook}")
    else:
        click.echo(
            f"hook left in place: {change.hook} (other projects still use it, or it is not ours)"
        )


@hook_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@guarded
def hook_list(as_json: bool) -> None:
    """Registered projects, their update notices and background upgrade results."""
    reg = registry.load()
    if as_json:
        click.echo(json.dumps(reg.to_json()["projects"], indent=2))
        return
    if not reg.projects:
        click.echo(f"no projects registered ({reg.path})")
    for p in reg.projects.values():
        click.echo(f"{p.project}  <- {p.source}  [{p.mode}]")
        if p.notices:
            click.echo(
                f"  update available since {p.notices[0]['at']} "
                f"(source {p.notices[-1]['source_rev'][:12]})"
            )
        if p.auto_runs:
            last = p.auto_runs[-1]
            click.echo(
                f"  last background upgrade {last['at']}: "
                f"exit {last['exit_code']}, log {last['log']}"
            )


@hook_group.command("run-post-merge", hidden=True)
@click.option("--source", type=_path, required=True)
@guarded
def hook_run_post_merge(source: Path) -> None:
    """What the hook script runs after a merge (never reads stdin)."""
    outcome = githook.run_post_merge(source)
    for project in outcome.notified:
        click.echo(
            f"prAxIs OS update available for {project}: "
            f"run `praxis-upgrade run --target {project}/.praxis-os`"
        )
    for project in outcome.started:
        click.echo(f"prAxIs OS upgrade of {project} started in the background (log: {outcome.log})")
    for project in outcome.missing:
        click.echo(
            f"praxis-upgrade: {project} has no .praxis-os/ any more; forget it with "
            f"`praxis-upgrade hook uninstall --source {source} --project {project}`"
        )


@hook_group.command("auto-worker", hidden=True)
@click.option("--source", type=_path, required=True)
@click.option("--project", "projects", multiple=True, required=True)
@click.option("--log", type=click.Path(path_type=Path, dir_okay=False), required=True)
@guarded
def hook_auto_worker(source: Path, projects: tuple[str, ...], log: Path) -> None:
    """The detached background process of auto mode: upgrade projects one after another."""
    for project, code in githook.run_auto(source, list(projects), log):
        click.echo(f"== {project}: exit {code}")


@click.group("vscode")
def vscode_group() -> None:
    """VS Code tasks for upgrading prAxIs OS (merged into .vscode/tasks.json)."""


def _report(change: vscode.TasksChange) -> None:
    for label in change.clashes:
        click.echo(
            f"kept your task {label!r}: it has the label of one of ours but not our marker "
            f"({vscode.MARKER}), so ours was left out; rename yours, then rerun"
        )
    for input_id in change.input_clashes:
        click.echo(f"kept your input {input_id!r}: your own tasks use it too")
    if change.changed:
        _report_writes(change)
    else:
        click.echo(f"{change.path}: nothing to change")
    if change.python is not None:
        click.echo(f"the tasks run {vscode.describe_runner(change.python)}")
    if change.old_backups:
        click.echo(
            f"note: {len(change.old_backups)} backup(s) from older versions are still in "
            f"{change.path.parent} (tasks.json.praxis-backup-*): delete them once unneeded"
        )


def _report_writes(change: vscode.TasksChange) -> None:
    for verb, labels in (
        ("added", change.added),
        ("updated", change.updated),
        ("removed", change.removed),
    ):
        for label in labels:
            click.echo(f"{verb} task {label!r}")
    if change.rewritten:
        click.echo(f"note: could not edit {change.path} in place; rewrote it as plain JSON")
    if change.comments_dropped:
        click.echo(f"note: could not keep the comments of {change.path}; they are in the backup")
    if change.backup:
        click.echo(f"backup of the previous file: {change.backup}")
    click.echo(f"wrote {change.path}")


@vscode_group.command("install")
@click.option(
    "--project", type=_path, default=".", show_default=True, help="The project (workspace folder)."
)
@guarded
def vscode_install(project: Path) -> None:
    """Merge the prAxIs OS upgrade tasks into .vscode/tasks.json, keeping your tasks."""
    if not (project / ".praxis-os").is_dir():
        click.echo(f"note: {project.resolve()} has no .praxis-os/ yet; the tasks expect one")
    _report(vscode.install(project))


@vscode_group.command("uninstall")
@click.option(
    "--project", type=_path, default=".", show_default=True, help="The project (workspace folder)."
)
@guarded
def vscode_uninstall(project: Path) -> None:
    """Remove only the prAxIs OS upgrade tasks and inputs from .vscode/tasks.json."""
    _report(vscode.uninstall(project))


COMMANDS: list[click.Command] = [hook_group, vscode_group]
