"""`plan`, `run --dry-run`, `install` and `adopt` through the real command line on the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kits.sandboxkit import Sandbox
from praxis_upgrade import store


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def source(sandbox: Sandbox):
    return sandbox.source


def stat_tree(root: Path, *, lock: bool = False) -> dict[str, tuple[int, int]]:
    """inode and mtime of everything; with `lock`, minus the (empty) lock file a run creates."""
    lock_dir = root / ".cache" / "praxis-upgrade"
    return {
        str(p): (p.lstat().st_ino, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if not (lock and (p == lock_dir or lock_dir in p.parents or p == root / ".cache"))
    }


def test_dry_run_and_plan_write_nothing_and_show_both_sides_of_a_conflict(
    source, sandbox, tmp_path
):
    target = sandbox.target(tmp_path / "project", "v1.5.0")
    before = stat_tree(target.project)
    out = cli("plan", "--diff", "--source", str(source.path), "--target", str(target.project))
    assert out.returncode == 0, out.stderr
    conflict = next(p for p, k in target.user_edits.items() if k == "edit-conflict")
    assert f"merge: {conflict} (conflict)" in out.stdout
    assert "--- your change (base -> yours)" in out.stdout
    assert "--- upstream's change (base -> upstream)" in out.stdout
    dry = cli(
        "run", "--dry-run", "--json", "--source", str(source.path), "--target", str(target.project)
    )
    assert dry.returncode == 0
    plan = json.loads(dry.stdout)["session"]["results"]["plan"]
    assert plan["conflicts"] == [conflict]
    assert plan["from_version"] == "v1.5.0" and plan["to_version"] == "v1.6.0"
    assert stat_tree(target.project) == before


def test_plan_json_lists_every_managed_path(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.4.0", edits=False)
    out = cli("plan", "--json", "--source", str(source.path), "--target", str(target.project))
    data = json.loads(out.stdout)
    entries = data["plan"]["entries"]
    assert len(entries) > 300
    assert not data["conflicts"]  # an untouched install has no false conflicts
    assert {e["klass"] for e in entries} >= {
        "unchanged",
        "upstream-changed",
        "added",
        "upstream-deleted",
    }


def test_policy_fail_refuses_before_writing(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    before = stat_tree(target.praxis, lock=True)
    out = cli(
        "run", "--conflicts", "fail", "--source", str(source.path), "--target", str(target.project)
    )
    assert out.returncode == 3
    assert "conflict" in out.stderr and "--conflicts" in out.stderr
    assert stat_tree(target.praxis, lock=True) == before
    assert not (target.praxis / ".cache" / "state" / "praxis-upgrade").exists()
    assert not (target.praxis / ".backups").exists()


def test_missing_venv_is_a_preflight_problem_but_not_for_a_plan(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.5.0")
    out = cli("run", "--source", str(source.path), "--target", str(target.project))
    assert out.returncode == 1
    assert "venv" in out.stderr and "hint:" in out.stderr
    assert not (target.praxis / ".backups").exists()
    assert (
        cli("plan", "--source", str(source.path), "--target", str(target.project)).returncode == 0
    )


def test_install_makes_a_working_install_with_a_baseline(source, tmp_path):
    project = tmp_path / "fresh"
    project.mkdir()
    out = cli("install", "--source", str(source.path), "--rev", "v1.5.0", "--json", cwd=project)
    assert out.returncode == 0, out.stderr
    praxis = project / ".praxis-os"
    for rel in ("standards/development", "specs/approved", "workspace/scratch", "venv/bin/python"):
        assert (praxis / rel).exists(), rel
    status = json.loads(cli("status", "--json", cwd=project).stdout)
    assert status["installed_version"] == "v1.5.0"
    assert (praxis / "standards" / "universal").is_dir()
    again = cli("install", "--source", str(source.path), cwd=project)
    assert again.returncode == 1 and "already exists" in again.stderr
    upgraded = cli("run", "--json", cwd=project)  # the source is remembered
    assert upgraded.returncode == 0, upgraded.stderr
    session = json.loads(upgraded.stdout)["session"]
    assert session["results"]["plan"]["from_version"] == "v1.5.0"
    assert not session["results"]["plan"]["adopted"]


def test_corrupt_baseline_names_the_adopt_command_and_adopt_repairs_it(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.4.0", edits=False)
    record = target.praxis / ".praxis-upgrade" / "baseline.json"
    record.parent.mkdir(parents=True)
    record.write_text("{ broken")
    out = cli("run", "--dry-run", "--source", str(source.path), "--target", str(target.project))
    assert out.returncode == 1
    assert "praxis-upgrade adopt" in out.stderr
    fixed = cli("adopt", "--source", str(source.path), "--target", str(target.project))
    assert fixed.returncode == 0, fixed.stderr
    assert "v1.4.0" in fixed.stdout
    assert (record.parent / "baseline.json.corrupt").read_text() == "{ broken"
    plan = json.loads(cli("plan", "--json", "--target", str(target.project)).stdout)
    assert plan["from_version"] == "v1.4.0" and not plan["conflicts"]
    assert os.path.exists(record)


def test_plan_diff_into_a_pipe_closed_early_ends_quietly_with_exit_0(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.5.0")
    conflict = next(p for p, k in target.user_edits.items() if k == "edit-conflict")
    with (target.praxis / conflict).open("a") as f:  # a diff far bigger than a pipe holds
        f.write("".join(f"my own line {i}\n" for i in range(100_000)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "praxis_upgrade", "plan", "--diff"]
        + ["--source", str(source.path), "--target", str(target.project)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(16)  # like `| head`: read a little, then close the pipe
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 0, stderr
    assert stderr == ""
    assert not store.crash_log().exists()


@pytest.mark.parametrize(("umask", "gitignore_mode"), [(0o022, None), (0o027, 0o604)])
def test_files_the_tool_creates_follow_the_umask_and_existing_ones_keep_their_mode(
    source, tmp_path, umask, gitignore_mode
):
    project = tmp_path / "fresh"
    project.mkdir()
    if gitignore_mode is not None:
        (project / ".gitignore").write_text("node_modules/\n")
        (project / ".gitignore").chmod(gitignore_mode)
    out = subprocess.run(
        ["sh", "-c", 'umask "$0" && exec "$@"', f"{umask:03o}"]  # the user's shell's umask
        + [sys.executable, "-m", "praxis_upgrade", "install", "--source", str(source.path)]
        + ["--rev", "v1.5.0", "--json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=project,
    )
    assert out.returncode == 0, out.stderr
    praxis = project / ".praxis-os"
    reports = sorted(praxis.glob(".cache/upgrade-*"))
    assert reports
    created = [
        praxis / "UPDATE_LOG.txt",
        praxis / ".praxis-upgrade" / "settings.json",
        praxis / ".praxis-upgrade" / "baseline.json",
        *reports,
    ] + ([project / ".gitignore"] if gitignore_mode is None else [])
    modes = {str(p.relative_to(project)): oct(p.stat().st_mode & 0o7777) for p in created}
    assert modes == {rel: oct(0o666 & ~umask) for rel in modes}
    if gitignore_mode is not None:
        assert "node_modules/" in (project / ".gitignore").read_text()
        assert oct((project / ".gitignore").stat().st_mode & 0o7777) == oct(gitignore_mode)
