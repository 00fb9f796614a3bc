"""VS Code tasks: the shipped file, and merging it into a project's .vscode/tasks.json."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from praxis_upgrade.cli.integrations import vscode_group
from praxis_upgrade.errors import UserError
from praxis_upgrade.integrations import jsonc, vscode

LABELS = [
    "Upgrade prAxIs OS",
    "Preview prAxIs OS upgrade",
    "Resume prAxIs OS upgrade",
    "Roll back prAxIs OS upgrade",
    "prAxIs OS upgrade status",
]
CONFLICT_LINE = (
    ".praxis-os/standards/universal/testing/x.md:1: conflict: "
    "kept your version; upstream saved beside it"
)

USER_FILE = """// my tasks
{
    "version": "2.0.0",
    "tasks": [
        /* the build */
        {
            "label": "build",
            "type": "shell",
            "command": "make", // trailing comma next
        },
    ],
    "inputs": [
        {"id": "mine", "type": "promptString", "description": "x",},
    ],
    "options": {"env": {"A": "1"}},
}
"""


@pytest.fixture
def shipped_file(repo_root: Path) -> dict:
    return json.loads((repo_root / "integrations/vscode/tasks.json").read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".vscode").mkdir()
    return tmp_path


def _labels(project: Path) -> list[str]:
    return [t["label"] for t in jsonc.loads(vscode.tasks_path(project).read_text())["tasks"]]


def _backups(project: Path) -> list[Path]:
    """Every backup of tasks.json there is: in .vscode/ (older versions) and where we keep one."""
    found = sorted((project / ".vscode").glob("tasks.json.praxis-backup-*"))
    return found + [vscode.backup_path(project)] * vscode.backup_path(project).exists()


def test_shipped_file_is_valid_json_with_the_five_tasks(shipped_file: dict) -> None:
    assert shipped_file["version"] == "2.0.0"
    assert [t["label"] for t in shipped_file["tasks"]] == LABELS


def test_shipped_file_equals_the_packaged_copy(shipped_file: dict) -> None:
    assert shipped_file == vscode.shipped()


def test_no_task_runs_on_folder_open(repo_root: Path, shipped_file: dict) -> None:
    assert "folderOpen" not in (repo_root / "integrations/vscode/tasks.json").read_text()
    assert all("runOptions" not in t for t in shipped_file["tasks"])


def test_inputs_offer_source_prompt_and_conflict_policies(shipped_file: dict) -> None:
    inputs = {i["id"]: i for i in shipped_file["inputs"]}
    assert inputs["praxisSource"]["type"] == "promptString"
    assert inputs["praxisConflicts"]["type"] == "pickString"
    assert inputs["praxisConflicts"]["options"] == ["keep-local", "take-upstream", "merge", "fail"]
    upgrade = shipped_file["tasks"][0]
    assert upgrade["command"] == "praxis-upgrade"
    assert upgrade["args"][:1] == ["run"]
    assert {"--source", "${input:praxisSource}", "--conflicts", "${input:praxisConflicts}"} <= set(
        upgrade["args"]
    )
    assert "--dry-run" in shipped_file["tasks"][1]["args"]
    assert [t["args"][0] for t in shipped_file["tasks"][2:]] == ["resume", "rollback", "status"]


def test_problem_matcher_matches_the_cli_conflict_line(shipped_file: dict) -> None:
    matchers = [t["problemMatcher"] for t in shipped_file["tasks"] if t["problemMatcher"]]
    assert len(matchers) == 3
    for matcher in matchers:
        assert matcher["owner"] == "praxis-upgrade"
        assert matcher["fileLocation"] == ["relative", "${workspaceFolder}"]
        pattern = matcher["pattern"]
        m = re.match(pattern["regexp"], CONFLICT_LINE)
        assert m is not None
        assert m.group(pattern["file"]) == ".praxis-os/standards/universal/testing/x.md"
        assert m.group(pattern["line"]) == "1"
        assert m.group(pattern["message"]).startswith("conflict: kept your version")
        assert re.match(pattern["regexp"], "upgraded 12 files") is None


def test_install_creates_the_file_when_there_is_none(tmp_path: Path) -> None:
    change = vscode.install(tmp_path)
    assert change.added == LABELS and change.backup is None
    data = json.loads(vscode.tasks_path(tmp_path).read_text())
    assert data == vscode.wanted(sys.executable)
    assert [t["label"] for t in data["tasks"]] == LABELS
    assert data["inputs"] == vscode.shipped()["inputs"]


def test_merge_keeps_comments_trailing_commas_user_tasks_inputs_and_keys(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    change = vscode.install(project)
    text = vscode.tasks_path(project).read_text()
    assert change.added == LABELS and not change.comments_dropped
    for kept in (
        "// my tasks",
        "/* the build */",
        "// trailing comma next",
        '"description": "x",}',
    ):
        assert kept in text
    data = jsonc.loads(text)
    assert [t["label"] for t in data["tasks"]] == ["build", *LABELS]
    assert [i["id"] for i in data["inputs"]] == ["mine", "praxisSource", "praxisConflicts"]
    assert data["options"] == {"env": {"A": "1"}}
    assert _backups(project) == []  # nothing of the user's changed: no backup


def test_second_install_writes_nothing(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    vscode.install(project)
    before = vscode.tasks_path(project).read_bytes()
    mtime = vscode.tasks_path(project).stat().st_mtime_ns
    change = vscode.install(project)
    assert not change.changed and change.backup is None
    assert vscode.tasks_path(project).read_bytes() == before
    assert vscode.tasks_path(project).stat().st_mtime_ns == mtime
    assert _backups(project) == []


def test_a_changed_task_of_ours_is_updated_in_place(project: Path) -> None:
    vscode.install(project)
    data = json.loads(vscode.tasks_path(project).read_text())
    data["tasks"][0]["command"] = "old-praxis-upgrade"
    data["tasks"].append({"label": "user", "command": "echo"})
    vscode.tasks_path(project).write_text(json.dumps(data))
    change = vscode.install(project)
    assert change.updated == ["Upgrade prAxIs OS"] and change.added == []
    task = jsonc.loads(vscode.tasks_path(project).read_text())["tasks"][0]
    assert task == vscode.wanted(sys.executable)["tasks"][0]
    assert _labels(project)[-1] == "user"


def test_file_without_tasks_key_gets_one(project: Path) -> None:
    vscode.tasks_path(project).write_text('{\n    // nothing yet\n    "version": "2.0.0"\n}\n')
    vscode.install(project)
    assert "// nothing yet" in vscode.tasks_path(project).read_text()
    assert _labels(project) == LABELS


@pytest.mark.parametrize(
    "bad", ['{"tasks": [ {"label": "x"} ', "not json at all", '{"tasks": {}}', "[1, 2]"]
)
def test_unparseable_file_is_left_untouched_with_a_clear_error(project: Path, bad: str) -> None:
    vscode.tasks_path(project).write_text(bad)
    with pytest.raises(UserError) as err:
        vscode.install(project)
    assert "untouched" in err.value.message and err.value.hint
    assert vscode.tasks_path(project).read_text() == bad
    assert _backups(project) == []


def test_cli_reports_unparseable_file_and_exits_non_zero(project: Path) -> None:
    vscode.tasks_path(project).write_text('{"tasks": [,]}')
    result = CliRunner().invoke(vscode_group, ["install", "--project", str(project)])
    assert result.exit_code == 1, result.output
    assert "line 1 column 12" in result.output and "hint:" in result.output
    assert vscode.tasks_path(project).read_text() == '{"tasks": [,]}'


def test_cli_install_then_install_again_says_nothing_to_change(project: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(
        vscode_group, ["install", "--project", str(project)], catch_exceptions=False
    )
    assert first.exit_code == 0, first.output
    assert "added task 'Upgrade prAxIs OS'" in first.output
    second = runner.invoke(
        vscode_group, ["install", "--project", str(project)], catch_exceptions=False
    )
    assert second.exit_code == 0 and "nothing to change" in second.output


def test_uninstall_removes_only_our_tasks_and_inputs(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    vscode.install(project)
    change = vscode.uninstall(project)
    assert change.removed == LABELS
    text = vscode.tasks_path(project).read_text()
    data = jsonc.loads(text)
    assert data == jsonc.loads(USER_FILE)
    assert "/* the build */" in text and "// my tasks" in text
    assert not vscode.uninstall(project).changed


def test_uninstall_without_file_is_a_no_op(tmp_path: Path) -> None:
    assert not vscode.uninstall(tmp_path).changed
    assert not vscode.tasks_path(tmp_path).exists()


def test_removing_our_task_keeps_a_comment_between_it_and_its_comma(project: Path) -> None:
    ours = json.dumps(vscode.wanted(sys.executable)["tasks"][0])
    original = '{"tasks": [' + ours + " /* why */ ,], // note\n}"
    vscode.tasks_path(project).write_text(original)
    result = CliRunner().invoke(
        vscode_group, ["uninstall", "--project", str(project)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "removed task 'Upgrade prAxIs OS'" in result.output
    assert "backup" not in result.output and _backups(project) == []
    assert vscode.tasks_path(project).read_text() == '{"tasks": [ /* why */ ], // note\n}'


def test_a_comment_inside_our_task_goes_only_with_a_backup(project: Path) -> None:
    vscode.install(project)
    text = vscode.tasks_path(project).read_text()
    commented = text.replace('"type": "process",', '"type": "process", // mine', 1)
    vscode.tasks_path(project).write_text(commented)
    result = CliRunner().invoke(
        vscode_group, ["uninstall", "--project", str(project)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "could not keep the comments" in result.output
    assert f"backup of the previous file: {vscode.backup_path(project)}" in result.output
    assert vscode.backup_path(project).read_text() == commented
    assert jsonc.loads(vscode.tasks_path(project).read_text()).get("tasks", []) == []
