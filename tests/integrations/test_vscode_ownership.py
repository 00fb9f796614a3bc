"""Which tasks and inputs in .vscode/tasks.json are ours: our marker, never a label alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from praxis_upgrade.cli.integrations import vscode_group
from praxis_upgrade.integrations import jsonc, vscode

UPGRADE = "Upgrade prAxIs OS"
# every property VS Code's tasks.json schema knows on a task (jsonSchema_v2.ts, taskDescription);
# it warns about any other, so our marker has to live inside one of these
VSCODE_TASK_PROPERTIES = {
    "label", "type", "command", "args", "options", "windows", "osx", "linux", "presentation",
    "problemMatcher", "detail", "group", "isBackground", "promptOnClose", "runOptions",
    "dependsOn", "dependsOrder", "icon", "hide",
}  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".praxis-os").mkdir()
    return tmp_path


def _write(project: Path, data: dict) -> None:
    vscode.tasks_path(project).write_text(json.dumps(data, indent=4) + "\n")


def _tasks(project: Path) -> list[dict]:
    return jsonc.loads(vscode.tasks_path(project).read_text()).get("tasks", [])


def _inputs(project: Path) -> list[dict]:
    return jsonc.loads(vscode.tasks_path(project).read_text()).get("inputs", [])


def _cli(*args: str) -> str:
    result = CliRunner().invoke(vscode_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_our_tasks_carry_the_marker_in_a_property_vscode_knows() -> None:
    for task in vscode.wanted(sys.executable)["tasks"]:
        assert set(task) <= VSCODE_TASK_PROPERTIES
        assert all(isinstance(v, str) for v in task["options"]["env"].values())
    ids = [t["options"]["env"][vscode.MARKER] for t in vscode.wanted(sys.executable)["tasks"]]
    assert ids == ["run", "preview", "resume", "rollback", "status"]


def test_a_user_task_with_our_label_is_kept_and_reported(project: Path) -> None:
    mine = {"label": UPGRADE, "type": "shell", "command": "make upgrade"}
    _write(project, {"version": "2.0.0", "tasks": [mine]})
    out = _cli("install", "--project", str(project))
    assert f"kept your task '{UPGRADE}'" in out and vscode.MARKER in out
    assert f"added task '{UPGRADE}'" not in out and f"updated task '{UPGRADE}'" not in out
    tasks = _tasks(project)
    assert tasks[0] == mine and [t["label"] for t in tasks].count(UPGRADE) == 1
    assert len(tasks) == 5  # the four other tasks of ours were added
    out = _cli("uninstall", "--project", str(project))
    assert f"removed task '{UPGRADE}'" not in out
    assert _tasks(project) == [mine]


def test_a_task_of_ours_is_recognised_by_its_marker_even_when_renamed(project: Path) -> None:
    vscode.install(project)
    data = jsonc.loads(vscode.tasks_path(project).read_text())
    data["tasks"][0]["label"] = "Upgrade (renamed by me)"
    _write(project, data)
    change = vscode.install(project)
    assert change.updated == [UPGRADE] and not change.added and not change.clashes
    assert [t["label"] for t in _tasks(project)].count(UPGRADE) == 1
    data["tasks"][0]["label"] = "Upgrade (renamed by me)"
    _write(project, data)
    assert "Upgrade (renamed by me)" in vscode.uninstall(project).removed
    assert _tasks(project) == []


def test_tasks_copied_verbatim_from_the_shipped_file_are_taken_over(project: Path) -> None:
    """Versions before the marker wrote the shipped tasks as they are: those are ours."""
    _write(project, vscode.shipped())
    change = vscode.install(project)
    assert change.updated == vscode.labels() and not change.added and not change.clashes
    assert _tasks(project) == vscode.wanted(sys.executable)["tasks"]


def test_a_task_of_ours_no_longer_shipped_is_removed(project: Path) -> None:
    vscode.install(project)
    data = jsonc.loads(vscode.tasks_path(project).read_text())
    old = {"label": "Old praxis task", "options": {"env": {vscode.MARKER: "gone"}}}
    data["tasks"].insert(2, old)
    _write(project, data)
    change = vscode.install(project)
    assert change.removed == ["Old praxis task"] and not change.added and not change.updated
    assert [t["label"] for t in _tasks(project)] == vscode.labels()


def test_an_input_a_user_task_uses_is_kept(project: Path) -> None:
    mine = {"id": "praxisSource", "type": "promptString", "description": "my clone"}
    user_task = {"label": "sync", "command": "rsync", "args": ["${input:praxisSource}", "."]}
    _write(project, {"version": "2.0.0", "tasks": [user_task], "inputs": [mine]})
    out = _cli("install", "--project", str(project))
    assert "kept your input 'praxisSource'" in out
    assert _inputs(project)[0] == mine
    assert [i["id"] for i in _inputs(project)] == ["praxisSource", "praxisConflicts"]
    out = _cli("uninstall", "--project", str(project))
    assert "kept your input 'praxisSource'" in out
    assert _inputs(project) == [mine] and _tasks(project) == [user_task]


def test_our_inputs_go_with_our_tasks(project: Path) -> None:
    vscode.install(project)
    change = vscode.uninstall(project)
    assert change.inputs == ["praxisSource", "praxisConflicts"]
    assert _inputs(project) == [] and _tasks(project) == []
