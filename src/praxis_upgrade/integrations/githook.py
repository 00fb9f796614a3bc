"""The post-merge git hook of a praxis-os source clone: install, uninstall, and what it runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path

from praxis_upgrade import store
from praxis_upgrade.engine import registry
from praxis_upgrade.errors import SourceError, TargetError, UserError
from praxis_upgrade.integrations import spawn
from praxis_upgrade.util import fs

HOOK = "post-merge"
LEGACY = "post-merge.legacy"
ID_LINE = "# praxis-upgrade post-merge hook"
WATCHED = ("universal", "mcp_server", "scripts")
COMMAND_ENV = "PRAXIS_UPGRADE_HOOK_COMMAND"  # test-only: replaces the `run` command in auto mode
KEEP_GIT_ENV = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_ASKPASS",
    }
)


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` without the GIT_* variables that tie git commands to the repo running the hook."""
    env = dict(os.environ if env is None else env)
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("GIT_")
        or k in KEEP_GIT_ENV
        or k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))
    }


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def source_root(path: Path) -> Path:
    """The top of the praxis-os clone containing `path`.

    Raises:
        SourceError: `path` is not inside a git work tree with universal/ or mcp_server/.
    """
    result = _git(path, "rev-parse", "--show-toplevel") if path.is_dir() else None
    if result is None or result.returncode != 0:
        raise SourceError(
            f"{path} is not a git clone", hint="pass --source PATH of your praxis-os clone"
        )
    root = Path(result.stdout.strip())
    if not any((root / d).is_dir() for d in ("universal", "mcp_server")):
        raise SourceError(
            f"{root} does not look like praxis-os (no universal/ or mcp_server/)",
            hint="pass --source PATH of your praxis-os clone",
        )
    return root


def project_root(path: Path) -> Path:
    """The project dir for a project path or its `.praxis-os` dir.

    Raises:
        TargetError: there is no `.praxis-os/` install there.
    """
    path = Path(registry.key(path))
    project = path.parent if path.name == ".praxis-os" else path
    if not (project / ".praxis-os").is_dir():
        raise TargetError(
            f"{project} has no .praxis-os/ install",
            hint="pass --project PATH of a project where prAxIs OS is installed",
        )
    return project


def hooks_dir(source: Path) -> Path:
    """The directory git runs this clone's hooks from (honours `core.hooksPath`)."""
    result = _git(source, "rev-parse", "--git-path", "hooks")
    if result.returncode != 0:
        raise SourceError(f"git cannot find the hooks dir of {source}: {result.stderr.strip()}")
    return (source / result.stdout.strip()).resolve()


def uses_hooks_path(source: Path) -> bool:
    """Is `core.hooksPath` set for this clone (in any config scope)?"""
    return bool(_git(source, "config", "--get", "core.hooksPath").stdout.strip())


def render(python: str) -> str:
    """The hook script with `python` (the interpreter praxis-upgrade runs under) filled in."""
    template = (
        resources.files("praxis_upgrade")
        .joinpath("resources")
        .joinpath(HOOK)
        .read_text(encoding="utf-8")
    )
    return template.replace(
        "PRAXIS_UPGRADE_PYTHON=''", f"PRAXIS_UPGRADE_PYTHON={shlex.quote(python)}", 1
    )


def is_ours(path: Path) -> bool:
    try:
        return ID_LINE in path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False


@dataclasses.dataclass
class HookChange:
    """What install/uninstall did, for the CLI to report."""

    hook: Path
    changed: bool
    legacy: Path | None = None  # a foreign hook moved aside (install) or put back (uninstall)
    projects: list[str] = dataclasses.field(default_factory=list)


def install(
    source: Path, projects: list[Path], mode: str = "notify", *, python: str | None = None
) -> HookChange:
    """Install (idempotently) the hook into `source` and register `projects` for it."""
    root = source_root(source)
    roots = [project_root(p) for p in projects]
    if mode not in registry.MODES:
        raise UserError(f"unknown hook mode {mode!r}", hint="use notify or auto")
    hook = hooks_dir(root) / HOOK
    text = render(python or sys.executable)
    moved = None
    if (hook.exists() or hook.is_symlink()) and not is_ours(hook):
        moved = hook.with_name(LEGACY)
        if moved.exists() or moved.is_symlink():
            raise UserError(
                f"{hook} is not ours and {moved} already exists",
                hint="merge them by hand or remove one, then rerun",
            )
        os.replace(hook, moved)
    changed = moved is not None or not hook.exists() or hook.read_text(encoding="utf-8") != text
    if changed:
        fs.atomic_write_text(hook, text, mode=0o755)
    for p in roots:
        registry.register(p, root, mode, python=python)
    return HookChange(hook, changed, moved, [str(p) for p in roots])


def uninstall(source: Path, projects: list[Path] | None = None) -> HookChange:
    """Unregister `projects` (all of this clone's when None); remove the hook when none remain."""
    root = source_root(source)
    names = (
        [registry.key(p) for p in projects]
        if projects
        else [p.project for p in registry.projects_for_source(root)]
    )
    for name in names:
        registry.unregister(name)
    hook = hooks_dir(root) / HOOK
    legacy = hook.with_name(LEGACY)
    if registry.projects_for_source(root) or not is_ours(hook):
        return HookChange(hook, False, None, names)
    if legacy.exists() or legacy.is_symlink():
        os.replace(legacy, hook)
        return HookChange(hook, True, hook, names)
    hook.unlink()
    return HookChange(hook, True, None, names)


# --- what the hook runs -------------------------------------------------------------------


def changed_watched(source: Path) -> bool:
    """Did the last merge (ORIG_HEAD..HEAD) touch universal/, mcp_server/ or scripts/?

    Unknown (no ORIG_HEAD) counts as changed: a notice too many beats a missed upgrade.
    """
    result = _git(source, "diff", "--name-only", "ORIG_HEAD", "HEAD", "--", *WATCHED)
    return result.returncode != 0 or bool(result.stdout.strip())


def head(source: Path) -> str:
    result = _git(source, "rev-parse", "HEAD")
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@dataclasses.dataclass
class PostMerge:
    """Outcome of one post-merge check."""

    notified: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(
        default_factory=list
    )  # registered, but no install there now
    started: list[str] = dataclasses.field(default_factory=list)
    log: Path | None = None


def run_post_merge(source: Path) -> PostMerge:
    """Notify about, or start background upgrades of, the projects registered for `source`."""
    outcome = PostMerge()
    projects = registry.projects_for_source(source)
    if not projects or not changed_watched(source):
        return outcome
    rev = head(source)
    for p in projects:
        if not Path(p.target).is_dir():
            outcome.missing.append(p.project)
        elif p.mode == "auto":
            outcome.started.append(p.project)
        else:
            registry.record_notice(p.project, rev)
            outcome.notified.append(p.project)
    if outcome.started:
        outcome.log = start_worker(Path(registry.key(source)), outcome.started)
    return outcome


def start_worker(source: Path, projects: list[str]) -> Path:
    """Start one detached worker that upgrades `projects` one after another; returns its log."""
    logs = store.hook_logs()
    logs.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = logs / f"auto-{stamp}-{os.getpid()}.log"
    args = ["hook", "auto-worker", "--source", str(source), "--log", str(log)]
    for p in projects:
        args += ["--project", p]
    spawn.spawn(
        args,
        log,
        env=clean_env(),
        module="praxis_upgrade.cli.git_hook",
        cwd=source,
        merge_stderr=True,
    )
    return log


def auto_command(project: str, source: Path) -> list[str]:
    """The upgrade command for one project (`$PRAXIS_UPGRADE_HOOK_COMMAND` replaces it in tests)."""
    target = str(Path(project) / ".praxis-os")
    override = os.environ.get(COMMAND_ENV)
    if override:
        return [*shlex.split(override), "--target", target, "--source", str(source)]
    entry = registry.load().projects.get(registry.key(project))
    python = entry.python if entry and os.access(entry.python, os.X_OK) else sys.executable
    return [
        python,
        "-m",
        "praxis_upgrade",
        "run",
        "--target",
        target,
        "--source",
        str(source),
        "--conflicts",
        "keep-local",
        "--yes",
        "--json",
    ]


def run_auto(source: Path, projects: list[str], log: Path) -> list[tuple[str, int]]:
    """Upgrade each project in turn (output appended to `log`) and record each exit code."""
    results = []
    for project in projects:
        with open(log, "ab") as out:
            out.write(f"== {dt.datetime.now().isoformat(timespec='seconds')} {project}\n".encode())
            out.flush()
            try:
                code = subprocess.run(
                    auto_command(project, source),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=clean_env(),
                    cwd=project,
                    check=False,
                ).returncode
            except OSError as e:
                out.write(f"cannot start the upgrade: {e}\n".encode())
                code = 127
        registry.record_auto_run(project, log, code)
        results.append((project, code))
    return results
