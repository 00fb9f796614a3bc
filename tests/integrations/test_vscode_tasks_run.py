"""The installed tasks, run as VS Code runs them: which command, its fallback, and the conflict
lines their problem matcher reads in every mode."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kits.sandboxkit import Sandbox
from praxis_upgrade.integrations import jsonc, vscode

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the /bin/sh launcher is for Linux/macOS")

PREVIEW, UPGRADE, STATUS = (
    "Preview prAxIs OS upgrade",
    "Upgrade prAxIs OS",
    "prAxIs OS upgrade status",
)


def _tasks(project: Path) -> dict[str, dict]:
    data = jsonc.loads(vscode.tasks_path(project).read_text())
    return {t["label"]: t for t in data["tasks"]}


def _resolve(text: str, project: Path, inputs: dict[str, str]) -> str:
    """VS Code's variables as these tasks use them: ${workspaceFolder} and ${input:ID}."""
    text = text.replace("${workspaceFolder}", str(project))
    return re.sub(r"\$\{input:([^}]+)\}", lambda m: inputs[m.group(1)], text)


def run_task(
    task: dict,
    project: Path,
    inputs: dict[str, str] | None = None,
    path: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a process task the way VS Code does on Linux and macOS: variables resolved, the
    command and args as one argv (no shell of the user's), `options.env` over the environment,
    `options.cwd`; stdout and stderr into one terminal."""
    assert task["type"] == "process"
    argv = [_resolve(a, project, inputs or {}) for a in [task["command"], *task["args"]]]
    assert not any("${" in a for a in argv), "a variable VS Code would try to resolve"
    options = task.get("options", {})
    env = {**os.environ, **options.get("env", {})}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        argv,
        cwd=_resolve(options.get("cwd", str(project)), project, {}),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def problems(task: dict, output: str) -> list[tuple[str, str, str]]:
    """What VS Code's Problems panel shows: the lines the task's own regexp matches."""
    pattern = task["problemMatcher"]["pattern"]
    regexp = re.compile(pattern["regexp"])
    return [
        (m.group(pattern["file"]), m.group(pattern["line"]), m.group(pattern["message"]))
        for m in map(regexp.match, output.splitlines())
        if m
    ]


def _path_without_praxis_upgrade(tmp_path: Path) -> str:
    """A PATH with git (the CLI needs it) but no `praxis-upgrade`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    git = shutil.which("git")
    assert git is not None
    os.symlink(git, bin_dir / "git")
    path = str(bin_dir)
    assert shutil.which("praxis-upgrade", path=path) is None
    return path


@pytest.fixture(scope="module")
def source(sandbox: Sandbox):
    return sandbox.source


@pytest.mark.slow  # a venv and a whole upgrade
def test_every_mode_prints_each_conflict_as_the_problem_matcher_reads_it(source, sandbox, tmp_path):
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    project = target.project
    conflict = next(p for p, k in target.user_edits.items() if k == "edit-conflict")
    expected = [(f".praxis-os/{conflict}", "1")]
    vscode.install(project)
    tasks = _tasks(project)
    inputs = {"praxisSource": str(source.path)}

    def seen(label: str, policy: str, code: int) -> list[tuple[str, str, str]]:
        done = run_task(tasks[label], project, {**inputs, "praxisConflicts": policy})
        assert done.returncode == code, done.stdout
        found = problems(tasks[label], done.stdout)
        assert [(f, line) for f, line, _m in found] == expected, done.stdout
        assert all(m.startswith("conflict: ") for _f, _l, m in found)
        assert (project / found[0][0]).is_file()
        return found

    preview = seen(PREVIEW, "keep-local", 0)
    assert "would keep your version" in preview[0][2]
    assert "--conflicts fail" in seen(PREVIEW, "fail", 3)[0][2]
    assert "--conflicts fail" in seen(UPGRADE, "fail", 3)[0][2]
    plan = subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", "plan", "--source", str(source.path)],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert plan.returncode == 0, plan.stderr
    assert [(f, line) for f, line, _m in problems(tasks[PREVIEW], plan.stdout)] == expected
    done = seen(UPGRADE, "keep-local", 0)
    assert done[0][2].startswith("conflict: kept your version")


def test_tasks_run_the_interpreter_that_installed_them(sandbox, tmp_path):
    project = sandbox.target(tmp_path / "project", "v1.5.0").project
    vscode.install(project)
    status = _tasks(project)[STATUS]
    assert status["options"]["env"][vscode.PYTHON] == sys.executable
    done = run_task(status, project, path=_path_without_praxis_upgrade(tmp_path))
    assert done.returncode == 0, done.stdout
    assert f"Install:   {project / '.praxis-os'}" in done.stdout


def test_tasks_fall_back_to_praxis_upgrade_on_path_when_the_interpreter_is_gone(sandbox, tmp_path):
    project = sandbox.target(tmp_path / "project", "v1.5.0").project
    vscode.install(project, python=str(tmp_path / "gone-venv" / "bin" / "python"))
    path = _path_without_praxis_upgrade(tmp_path)
    launcher = tmp_path / "bin" / "praxis-upgrade"  # what `pip install praxis-upgrade` puts there
    launcher.write_text(
        '#!/bin/sh\necho "praxis-upgrade from PATH"\n'
        f'exec {sys.executable} -m praxis_upgrade "$@"\n'
    )
    launcher.chmod(0o755)
    done = run_task(_tasks(project)[STATUS], project, path=path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("praxis-upgrade from PATH\n")
    assert "Install:" in done.stdout


def test_without_interpreter_or_path_command_the_task_says_what_to_do(tmp_path):
    (tmp_path / ".praxis-os").mkdir()
    gone = str(tmp_path / "gone-venv" / "bin" / "python")
    vscode.install(tmp_path, python=gone)
    done = run_task(_tasks(tmp_path)[STATUS], tmp_path, path=_path_without_praxis_upgrade(tmp_path))
    assert done.returncode == 127
    assert f"praxis-upgrade: not found (no interpreter at '{gone}', none on PATH)" in done.stdout
    assert "praxis-upgrade vscode install" in done.stdout


def test_windows_runs_praxis_upgrade_from_path_through_its_shell(tmp_path):
    vscode.install(tmp_path)
    data = json.loads(vscode.tasks_path(tmp_path).read_text())
    for task, shipped in zip(data["tasks"], vscode.shipped()["tasks"], strict=True):
        assert task["windows"] == {
            "type": "shell",
            "command": "praxis-upgrade",
            "args": shipped["args"],
        }
