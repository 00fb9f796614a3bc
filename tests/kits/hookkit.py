"""Real git clones and real hook managers (pre-commit, husky, lefthook) for the git hook tests."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import itertools
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from praxis_upgrade.cli.integrations import hook_group
from praxis_upgrade.engine import registry

HUSKY_VERSION = "9"


def run(
    cwd: Path, *cmd: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command the way a user's non-interactive `git pull` does: no stdin, no terminal."""
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        start_new_session=True,
        check=False,
    )


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, "git", *args)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must have succeeded."""
    assert result.returncode == 0, f"{result.args}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def commit(repo: Path, files: dict[str, str], message: str = "change") -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    ok(git(repo, "add", "-A"))
    ok(git(repo, "commit", "-q", "-m", message))


# --- the managers, installed once per test session --------------------------------------


@dataclasses.dataclass(frozen=True)
class Tools:
    """How to run each manager; `husky` is None (with `why`) where node/npm are missing."""

    pre_commit: tuple[str, ...]
    lefthook: str
    husky: Path | None
    why: str = ""


def _python_tools(base: Path) -> tuple[tuple[str, ...], str]:
    """pre-commit and lefthook from the test environment (the `test` extra), else pip-installed
    into a venv under the session's temp dir."""
    beside = Path(sys.executable).parent / "lefthook"
    if importlib.util.find_spec("pre_commit") and (beside.exists() or shutil.which("lefthook")):
        return (sys.executable, "-m", "pre_commit"), str(beside if beside.exists() else "lefthook")
    env_dir = base / "hook-managers-venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    ok(run(base, str(python), "-m", "pip", "install", "-q", "pre-commit", "lefthook"))
    return (str(python), "-m", "pre_commit"), str(env_dir / "bin" / "lefthook")


def _husky(base: Path) -> tuple[Path | None, str]:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        return None, "husky needs node and npm, which are not on PATH"
    project = base / "husky-npm"
    project.mkdir(exist_ok=True)
    (project / "package.json").write_text('{"name": "hookkit", "private": true}\n')
    ok(
        run(
            project, npm, "install", "--silent", "--no-audit", "--no-fund", f"husky@{HUSKY_VERSION}"
        )
    )
    return project / "node_modules" / "husky" / "bin.js", ""


@functools.cache
def tools(base: Path) -> Tools:
    """The managers for this session (`base`: the session's temp dir); installed once."""
    pre_commit, lefthook = _python_tools(base)
    husky, why = _husky(base)
    return Tools(pre_commit, lefthook, husky, why)


# --- a praxis-os upstream, a clone with a user's own hooks, and a project ----------------


@dataclasses.dataclass
class Clone:
    """An upstream repo, a clone of it, a project registered for the clone, and counters."""

    tmp: Path
    upstream: Path
    clone: Path
    project: Path
    log: Path  # the user's own hooks append one line per run here
    counter: itertools.count = dataclasses.field(default_factory=itertools.count)
    output: str = ""  # what the last pull printed

    @property
    def user_script(self) -> Path:
        return self.tmp / "user-hook.sh"

    def change_upstream(self) -> None:
        commit(self.upstream, {"universal/standards/a.md": f"v{next(self.counter)}\n"})

    def local_commit(self) -> None:
        """Commit one new file in the clone (and nothing else of the user's)."""
        rel = f"local-{next(self.counter)}.txt"
        (self.clone / rel).write_text("mine\n")
        ok(git(self.clone, "add", "--", rel))
        ok(git(self.clone, "commit", "-q", "-m", "local work"))

    def user_runs(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def our_runs(self) -> int:
        return len(registry.notices(self.project))

    def pull(self, *args: str) -> tuple[int, int]:
        """Change upstream, `git pull ARGS` in the clone: (runs of the user's hook, of ours)."""
        user, ours = self.user_runs(), self.our_runs()
        self.change_upstream()
        self.output = ok(git(self.clone, "pull", "-q", *args))
        return self.user_runs() - user, self.our_runs() - ours

    def pull_rebase(self) -> tuple[int, int]:
        """A `git pull --rebase` that rebases a local commit (git runs post-rewrite)."""
        self.local_commit()
        return self.pull("--rebase")

    def hook(self, *args: str) -> str:
        """`praxis-upgrade hook ARGS --source CLONE`; its output (it must succeed)."""
        result = CliRunner().invoke(
            hook_group, [*args, "--source", str(self.clone)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.output

    def install_ours(self, *args: str) -> str:
        return self.hook("install", "--project", str(self.project), *args)

    def uninstall_ours(self) -> str:
        return self.hook("uninstall")

    def hook_list(self) -> str:
        result = CliRunner().invoke(hook_group, ["list"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def snapshot(self, *rels: str) -> dict[str, bytes | None]:
        """The bytes of clone files (None: absent), to compare before and after."""
        return {
            rel: (self.clone / rel).read_bytes() if (self.clone / rel).exists() else None
            for rel in rels
        }

    def untracked(self) -> set[str]:
        """Untracked files `git status` shows in the clone (each one, not their folders)."""
        out = ok(git(self.clone, "status", "--porcelain", "--untracked-files=all"))
        return {line[3:] for line in out.splitlines() if line.startswith("?? ")}


def make_clone(tmp: Path) -> Clone:
    upstream, clone = tmp / "upstream", tmp / "clone"
    upstream.mkdir(parents=True)
    ok(git(upstream, "init", "-q", "-b", "main"))
    commit(upstream, {"universal/standards/a.md": "a\n", "mcp_server/server.py": "x = 1\n"}, "v1")
    ok(git(tmp, "clone", "-q", str(upstream), str(clone)))
    ok(git(clone, "config", "pull.rebase", "false"))
    (tmp / "project" / ".praxis-os").mkdir(parents=True)
    repo = Clone(tmp, upstream, clone, tmp / "project", tmp / "user-hook.log")
    repo.user_script.write_text(f'#!/bin/sh\necho "user $*" >> "{repo.log}"\n')
    repo.user_script.chmod(0o755)
    return repo


# --- each manager as a user drives it -----------------------------------------------------

PRE_COMMIT_CONFIG = """\
# my own pre-commit config: comments and layout must survive praxis-upgrade
default_install_hook_types: [pre-commit]
repos:
  - repo: local
    hooks:
      - id: user-hook   # after every pull
        name: the user's own hook
        entry: {script}
        language: system
        stages: [post-merge, post-rewrite]
        always_run: true
        pass_filenames: false

# a trailing comment
"""

LEFTHOOK_CONFIG = """\
# my own lefthook config
post-merge:
  commands:
    user:
      run: {script} post-merge
post-rewrite:
  commands:
    user:
      run: {script} {{1}}
"""


class Manager:
    """A hook manager as a user sets it up, installs, re-installs and uninstalls it."""

    name = ""
    config: tuple[str, ...] = ()  # clone files a user wrote; uninstall must leave them as they were

    def __init__(self, tools: Tools, repo: Clone) -> None:
        self.tools, self.repo = tools, repo

    def set_up(self) -> None:
        """Write the user's own config (the user's hook runs from it once installed)."""

    def install(self) -> str:
        raise NotImplementedError

    def reinstall(self) -> str:
        """What a user (or `npm install`) runs again later, following the tool's own advice."""
        return self.install()

    def uninstall(self) -> str:
        raise NotImplementedError

    def rewrite_user_runs(self) -> int:
        """Runs of the user's hook on a `git pull --rebase` that rebases local commits."""
        return 1

    def ours_survives_its_uninstall(self) -> bool:
        """Does git still run ours once this manager is uninstalled (with ours installed)?"""
        return False


class PreCommit(Manager):
    name = "pre-commit"
    config = (".pre-commit-config.yaml",)

    def _run(self, *args: str) -> str:
        return ok(run(self.repo.clone, *self.tools.pre_commit, *args))

    def set_up(self) -> None:
        text = PRE_COMMIT_CONFIG.format(script=self.repo.user_script)
        (self.repo.clone / self.config[0]).write_text(text)

    def install(self) -> str:
        return self._run("install", "-t", "post-merge", "-t", "post-rewrite")

    def reinstall(self) -> str:
        return self._run("install", "-f", "-t", "post-merge", "-t", "post-rewrite")

    def uninstall(self) -> str:
        return self._run("uninstall", "-t", "post-merge", "-t", "post-rewrite")


class Husky(Manager):
    name = "husky"
    config = (".husky/post-merge", ".husky/post-rewrite")

    def set_up(self) -> None:
        script = self.repo.clone / ".husky" / "post-merge"
        script.parent.mkdir()
        script.write_text(f'"{self.repo.user_script}" post-merge\n')

    def install(self) -> str:
        if self.tools.husky is None:
            pytest.skip(self.tools.why)
        return ok(run(self.repo.clone, "node", str(self.tools.husky)))

    def uninstall(self) -> str:
        # husky 9 has no uninstall command: `npm uninstall husky` and unset core.hooksPath
        return ok(git(self.repo.clone, "config", "--unset", "core.hooksPath"))

    def rewrite_user_runs(self) -> int:
        return 0  # the user has no .husky/post-rewrite


class Lefthook(Manager):
    name = "lefthook"
    config = ("lefthook.yml", "lefthook-local.yml")

    def _run(self, *args: str) -> str:
        return ok(run(self.repo.clone, self.tools.lefthook, *args))

    def set_up(self) -> None:
        text = LEFTHOOK_CONFIG.format(script=self.repo.user_script)
        (self.repo.clone / self.config[0]).write_text(text)

    def install(self) -> str:
        return self._run("install")

    def uninstall(self) -> str:
        return self._run("uninstall")


MANAGERS: dict[str, type[Manager]] = {m.name: m for m in (PreCommit, Husky, Lefthook)}


def manager_env(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit's cache in the test's temp dir; no colours; no switches that skip hooks."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp / "pre-commit-home"))
    monkeypatch.setenv("PRE_COMMIT_COLOR", "never")
    monkeypatch.setenv("NO_COLOR", "1")
    for var in ("HUSKY", "LEFTHOOK", "LEFTHOOK_BIN", "SKIP"):
        monkeypatch.delenv(var, raising=False)
