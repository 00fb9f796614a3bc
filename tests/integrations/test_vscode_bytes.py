"""tasks.json byte for byte: line endings, BOM, file modes, and the one backup outside .vscode/."""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from praxis_upgrade.cli.integrations import vscode_group
from praxis_upgrade.integrations import jsonc, vscode

USER_FILE = """// my tasks
{
    "version": "2.0.0",
    "tasks": [
        {
            "label": "build", // the build
            "type": "shell",
            "command": "make"
        }
    ]
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".praxis-os").mkdir()
    return tmp_path


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _bytes(project: Path) -> bytes:
    return vscode.tasks_path(project).read_bytes()


def _only_crlf(data: bytes) -> bool:
    return data.count(b"\n") == data.count(b"\r\n") > 0


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["no-bom", "bom"])
def test_crlf_and_bom_survive_install_and_uninstall_byte_for_byte(project: Path, bom: bytes):
    original = bom + USER_FILE.replace("\n", "\r\n").encode()
    vscode.tasks_path(project).write_bytes(original)
    vscode.install(project)
    installed = _bytes(project)
    assert installed.startswith(bom + b"// my tasks\r\n") and _only_crlf(installed)
    assert installed.count(codecs.BOM_UTF8) == len(bom) // 3
    assert [t["label"] for t in jsonc.loads(installed[len(bom) :].decode())["tasks"]] == [
        "build",
        *vscode.labels(),
    ]
    vscode.uninstall(project)
    assert _bytes(project) == original


def test_lf_file_stays_lf_and_comes_back_exactly(project: Path) -> None:
    vscode.tasks_path(project).write_bytes(USER_FILE.encode())
    vscode.install(project)
    assert b"\r" not in _bytes(project)
    vscode.uninstall(project)
    assert _bytes(project) == USER_FILE.encode()


def test_no_backup_when_only_our_tasks_change(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    assert vscode.install(project).backup is None
    text = vscode.tasks_path(project).read_text()
    vscode.tasks_path(project).write_text(text.replace('"reveal": "always"', '"reveal": "never"'))
    change = vscode.install(project)
    assert change.updated and change.backup is None
    assert vscode.uninstall(project).backup is None
    assert not vscode.backup_path(project).exists()
    assert sorted(p.name for p in (project / ".vscode").iterdir()) == ["tasks.json"]


def test_one_backup_outside_vscode_when_something_of_the_user_is_lost(project: Path) -> None:
    vscode.install(project)
    first = vscode.tasks_path(project).read_text().replace('"clear": true', '"clear": true // a')
    vscode.tasks_path(project).write_text(first)
    change = vscode.install(project, python="/other/python")  # our tasks change: `// a` goes
    assert change.comments_dropped and change.backup == vscode.backup_path(project)
    assert change.backup == project / ".praxis-os/.cache/praxis-upgrade/vscode-tasks.json.bak"
    assert change.backup.read_text() == first
    second = vscode.tasks_path(project).read_text().replace('"clear": true', '"clear": true // b')
    vscode.tasks_path(project).write_text(second)
    assert vscode.uninstall(project).backup == change.backup
    assert change.backup.read_text() == second  # one backup: the newest previous file
    assert list(change.backup.parent.glob("*tasks*")) == [change.backup]
    assert sorted(p.name for p in (project / ".vscode").iterdir()) == ["tasks.json"]


def test_without_an_install_the_backup_goes_to_the_user_folder(tmp_path: Path) -> None:
    (tmp_path / ".vscode").mkdir()
    vscode.install(tmp_path)
    text = vscode.tasks_path(tmp_path).read_text().replace('"clear": true', '"clear": true // x')
    vscode.tasks_path(tmp_path).write_text(text)
    backup = vscode.uninstall(tmp_path).backup
    assert backup is not None and backup.read_text() == text
    assert tmp_path not in backup.parents and not (tmp_path / ".praxis-os").exists()


@pytest.mark.usefixtures("umask_027")
def test_created_files_follow_the_umask(tmp_path: Path) -> None:
    vscode.install(tmp_path)
    assert stat.S_IMODE(vscode.tasks_path(tmp_path).stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / ".vscode").stat().st_mode) == 0o750


def test_a_rewrite_keeps_the_file_mode(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    vscode.tasks_path(project).chmod(0o600)
    vscode.install(project)
    assert stat.S_IMODE(vscode.tasks_path(project).stat().st_mode) == 0o600


def test_backups_older_versions_left_in_vscode_are_pointed_out(project: Path) -> None:
    vscode.tasks_path(project).write_text(USER_FILE)
    (project / ".vscode" / "tasks.json.praxis-backup-20250101-120000").write_text(USER_FILE)
    result = CliRunner().invoke(
        vscode_group, ["install", "--project", str(project)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "1 backup(s) from older versions are still in" in result.output
