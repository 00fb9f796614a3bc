"""The `hook` and `vscode` commands: git hooks, project registry, VS Code tasks."""

from __future__ import annotations

from pathlib import Path

import click

from praxis_upgrade.cli._shared import guarded, json_option
from praxis_upgrade.cli.output import emit_json
from praxis_upgrade.engine import registry
from praxis_upgrade.integrations import githook, vscode

_path = click.Path(path_type=Path, file_okay=False)


@click.group("hook")
def hook_group() -> None:
    """Git hooks in your praxis-os clone: notice (or run) upgrades after `git pull`."""


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
@click.option(
    "--edit-tracked",
    is_flag=True,
    help="Allow adding our lines to a file git tracks in the clone (a hook manager's config); "
    "`git pull --rebase` then needs --autostash.",
)
@click.option(
    "--global-hooks-path",
    is_flag=True,
    help="Allow installing into a core.hooksPath set in your global git config, which every "
    "repository on this machine uses.",
)
@json_option
@guarded
def hook_install(
    source: Path,
    projects: tuple[Path, ...],
    mode: str,
    edit_tracked: bool,
    global_hooks_path: bool,
    as_json: bool,
) -> None:
    """Install the post-merge and post-rewrite hooks into the clone and register projects.

    When pre-commit, husky or lefthook runs the clone's hooks, ours goes into that tool's own
    config; an existing hook script keeps running with ours chained into it.
    """
    change = githook.install(
        source,
        _default_projects(projects),
        mode,
        edit_tracked=edit_tracked,
        global_hooks_path=global_hooks_path,
    )
    if as_json:
        emit_json({"ok": True, "mode": mode, **change.to_json()})
        return
    click.echo("hooks installed:" if change.changed else "hooks already up to date:")
    for placement in change.placements:
        click.echo(f"  {placement.event}: {githook.describe(placement)}")
    for old in change.cleaned:
        click.echo(f"removed an older copy of our {old.event} hook from {old.path}")
    for note in change.notes:
        click.echo(f"note: {note}")
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
@json_option
@guarded
def hook_uninstall(source: Path, projects: tuple[Path, ...], as_json: bool) -> None:
    """Forget projects; remove the hooks (only what install added) when none remain."""
    change = githook.uninstall(source, list(projects) or None)
    if as_json:
        emit_json({"ok": True, **change.to_json()})
        return
    for project in change.projects:
        click.echo(f"forgot {project}")
    for placement in change.placements:
        click.echo(f"{placement.event}: removed from {placement.path}")
    for path in dict.fromkeys(p.path for p in change.placements):
        if not path.exists() and not path.is_symlink():
            click.echo(f"deleted {path} (nothing but ours was left in it)")
    for note in change.notes:
        click.echo(note)
    if not change.changed and not change.notes:
        click.echo(f"no praxis-upgrade hooks were installed in {source}")


def _health_lines(source: str, seen: dict[str, list[githook.Health]]) -> list[str]:
    if source not in seen:
        seen[source] = githook.health(source)
    lines = []
    for h in seen[source]:
        state = h.problem or h.note or githook.describe(h.placement)
        lines.append(f"  {h.placement.event}: {state}")
    if any(h.problem for h in seen[source]):
        lines.append(f"  to put it back: praxis-upgrade hook install --source {source}")
    return lines


@hook_group.command("list")
@json_option
@guarded
def hook_list(as_json: bool) -> None:
    """Registered projects, whether their hooks are still installed, notices and results."""
    reg = registry.load()
    seen: dict[str, list[githook.Health]] = {}
    if as_json:
        out = reg.to_json()["projects"]
        for entry in out.values():
            checks = seen.setdefault(entry["source"], githook.health(entry["source"]))
            entry["hooks"] = [h.to_json() for h in checks]
        emit_json(out)
        return
    if not reg.projects:
        click.echo(f"no projects registered ({reg.path})")
    for p in reg.projects.values():
        click.echo(f"{p.project}  <- {p.source}  [{p.mode}]")
        for line in _health_lines(p.source, seen):
            click.echo(line)
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
