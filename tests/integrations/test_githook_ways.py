"""Our hooks without a hook manager: chaining, post-rewrite, older installs, refusals, checks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kits import hookkit
from kits.hookkit import Clone
from praxis_upgrade import store
from praxis_upgrade.cli.integrations import hook_group
from praxis_upgrade.engine import registry
from praxis_upgrade.integrations import githook


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(store.HOME_ENV, str(tmp_path / "praxis-home"))
    monkeypatch.delenv("TERM", raising=False)
    return tmp_path / "praxis-home"


@pytest.fixture
def repo(tmp_path: Path) -> Clone:
    return hookkit.make_clone(tmp_path)


def hooks(repo: Clone) -> Path:
    return repo.clone / ".git" / "hooks"


def user_hook(repo: Clone, event: str = "post-merge") -> Path:
    """The user's own hook script in .git/hooks: it logs one line per run."""
    path = hooks(repo) / event
    path.write_text(f'#!/bin/sh\n# my own hook\n"{repo.user_script}" {event} "$@"\nexit 3\n')
    path.chmod(0o755)
    return path


def install(repo: Clone, *args: str) -> Result:
    return CliRunner().invoke(
        hook_group,
        ["install", "--source", str(repo.clone), "--project", str(repo.project), *args],
    )


def test_a_foreign_hook_keeps_running_with_ours_chained_into_it_and_gets_its_bytes_back(
    repo: Clone,
) -> None:
    mine = user_hook(repo)
    original = mine.read_bytes()
    out = repo.install_ours()
    assert f"post-merge: chained into the existing post-merge hook {mine}" in out
    assert "post-rewrite: installed as" in out
    assert not list(hooks(repo).glob("*.legacy"))
    assert repo.pull() == (1, 1)
    out = repo.uninstall_ours()
    assert f"post-merge: removed from {mine}" in out
    assert mine.read_bytes() == original and os.access(mine, os.X_OK)
    assert not (hooks(repo) / "post-rewrite").exists()
    assert repo.pull() == (1, 0)


def test_git_pull_rebase_runs_ours_once_with_or_without_local_commits(repo: Clone) -> None:
    repo.install_ours()
    assert repo.pull_rebase() == (0, 1)  # rebases a local commit: git runs post-rewrite
    assert repo.pull("--rebase") == (0, 1)  # nothing local: git fast-forwards, runs post-merge


def test_commit_amend_does_not_run_the_check(repo: Clone) -> None:
    repo.install_ours()
    repo.local_commit()
    result = hookkit.git(repo.clone, "commit", "--amend", "-q", "-m", "reworded")
    assert hookkit.ok(result) == "" and repo.our_runs() == 0


def test_an_install_by_an_older_version_is_taken_apart_so_each_hook_runs_once(
    repo: Clone,
) -> None:
    foreign = user_hook(repo)
    text = foreign.read_text()
    os.replace(foreign, hooks(repo) / "post-merge.legacy")  # what versions before 0.2 did
    (hooks(repo) / "post-merge").write_text(githook.render(sys.executable))
    (hooks(repo) / "post-merge").chmod(0o755)
    out = repo.install_ours()
    assert "removed an older copy of our post-merge hook" in out
    assert "chained into the existing post-merge hook" in out
    assert not (hooks(repo) / "post-merge.legacy").exists()
    assert repo.pull() == (1, 1)
    repo.uninstall_ours()
    assert (hooks(repo) / "post-merge").read_text() == text


def test_a_global_hooks_path_is_refused_unless_asked_and_then_does_nothing_elsewhere(
    repo: Clone, tmp_path: Path
) -> None:
    shared = tmp_path / "global-hooks"
    hookkit.ok(hookkit.git(tmp_path, "config", "--global", "core.hooksPath", str(shared)))
    refused = install(repo)
    assert refused.exit_code == 1
    assert "every repository on this machine" in refused.output
    assert "--global-hooks-path" in refused.output
    assert not (repo.clone / ".git" / githook.PRIVATE).exists() and not shared.exists()
    assert registry.load().projects == {}

    asked = install(repo, "--global-hooks-path")
    assert asked.exit_code == 0, asked.output
    assert f"installed as {shared / 'post-merge'}" in asked.output
    assert repo.pull() == (0, 1)
    other = hookkit.make_clone(tmp_path / "unrelated")
    other.change_upstream()
    assert hookkit.ok(hookkit.git(other.clone, "pull", "-q")) == ""  # ours does nothing there

    repo.uninstall_ours()
    assert not (shared / "post-merge").exists()


def test_a_hook_script_tracked_in_the_clone_is_changed_only_with_edit_tracked(
    repo: Clone,
) -> None:
    script = f'#!/bin/sh\n"{repo.user_script}" post-merge\n'
    hookkit.commit(repo.upstream, {".githooks/post-merge": script}, "shared hooks")
    (repo.upstream / ".githooks" / "post-merge").chmod(0o755)
    hookkit.commit(repo.upstream, {}, "make it executable")
    hookkit.ok(hookkit.git(repo.clone, "pull", "-q"))
    hookkit.ok(hookkit.git(repo.clone, "config", "core.hooksPath", ".githooks"))
    tracked = repo.clone / ".githooks" / "post-merge"

    refused = install(repo)
    assert refused.exit_code == 1
    assert "tracked by git" in refused.output and "--edit-tracked" in refused.output
    assert tracked.read_text() == script
    assert not (repo.clone / ".git" / githook.PRIVATE).exists()

    allowed = install(repo, "--edit-tracked")
    assert allowed.exit_code == 0, allowed.output
    assert "chained into the existing post-merge hook" in allowed.output
    assert "note:" in allowed.output and "--autostash" in allowed.output
    assert repo.pull() == (1, 1)
    assert ".githooks/post-rewrite" not in repo.untracked()  # created by us: excluded
    repo.uninstall_ours()
    assert tracked.read_text() == script
    assert hookkit.ok(hookkit.git(repo.clone, "status", "--porcelain")) == ""


@pytest.mark.parametrize("kind", ["python script", "link to a shared script"])
def test_a_hook_we_cannot_safely_add_to_is_refused_and_nothing_is_written(
    kind: str, repo: Clone, tmp_path: Path
) -> None:
    hook = hooks(repo) / "post-merge"
    if kind == "python script":
        hook.write_text("#!/usr/bin/env python3\nprint('mine')\n")
        hook.chmod(0o755)
    else:
        shared = tmp_path / "shared-hook"
        shared.write_text("#!/bin/sh\necho shared\n")
        shared.chmod(0o755)
        hook.symlink_to(shared)
    before = hook.read_bytes()
    refused = install(repo)
    assert refused.exit_code == 1 and "hint:" in refused.output
    assert ("python3 script" if kind == "python script" else "is a link") in refused.output
    assert hook.read_bytes() == before
    assert not (repo.clone / ".git" / githook.PRIVATE).exists()
    assert not (hooks(repo) / "post-rewrite").exists()


def test_hook_list_says_which_tool_removed_our_hook_and_install_puts_it_back(
    repo: Clone,
) -> None:
    repo.install_ours()
    assert "removed" not in repo.hook_list()
    lfs = hooks(repo) / "post-merge"
    lfs.write_text('#!/bin/sh\ncommand -v git-lfs >/dev/null || exit 0\ngit lfs post-merge "$@"\n')
    (hooks(repo) / "post-rewrite").unlink()
    listing = repo.hook_list()
    assert "post-merge: removed by another tool (git-lfs)" in listing
    assert "post-rewrite: removed by another tool (deleted)" in listing
    assert f"hook install --source {registry.key(repo.clone)}" in listing
    data = json.loads(CliRunner().invoke(hook_group, ["list", "--json"]).output)
    problems = [h["problem"] for h in data[registry.key(repo.project)]["hooks"]]
    assert all(problems) and len(problems) == 2

    assert "chained into the existing post-merge hook" in repo.install_ours()
    assert "removed" not in repo.hook_list()
