"""Hostile or damaged backups, through the real command: no unsafe "finish by hand" command, no
write outside the project, and a damaged manifest called damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backups.test_restore import backup_of, make_install, upgrade
from kits.clikit import cli
from praxis_upgrade.backups.manifest import Backup
from praxis_upgrade.errors import ExitCode
from praxis_upgrade.util import fs


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return make_install(tmp_path)


def edit_manifest(made: Backup, change: dict[str, object]) -> None:
    """Rewrite the backup's MANIFEST.json with `change` merged in (as an attacker or bit rot)."""
    data = fs.read_json(made.path / "MANIFEST.json")
    for key, value in change.items():
        if isinstance(data[key], dict):
            data[key].update(value)
        else:
            data[key] += value
    fs.atomic_write_json(made.path / "MANIFEST.json", data)


def rollback(target: Path, made: Backup, *more: str) -> tuple[int, str]:
    done = cli("rollback", "--target", str(target.parent), "--to", made.id, *more)
    return done.returncode, done.stdout + done.stderr


def finish_lines(output: str) -> list[str]:
    """The report's lines, one per path a rollback could not restore."""
    return [line for line in output.splitlines() if line.startswith("  - ")]


def test_forced_rollback_never_prints_a_command_built_from_an_escaping_manifest_path(
    target: Path, tmp_path: Path
) -> None:
    made = backup_of(target)
    upgrade(target)
    entry = dict(fs.read_json(made.path / "MANIFEST.json")["files"]["standards/universal/a.md"])
    edit_manifest(
        made,
        {
            "files": {"standards/universal/a.md": {**entry, "stored": "../../../../outside/evil"}},
            "absent": ["../../../../outside/gone"],
        },
    )

    code, output = rollback(target, made, "--force")

    assert code == ExitCode.ROLLBACK_FAILED, output
    lines = finish_lines(output)
    assert len(lines) == 2, output
    for line in lines:
        assert "cp -p" not in line and "rm " not in line, line
        assert "damaged" in line, line
    assert not (tmp_path / "outside").exists()


def test_a_name_with_a_newline_in_a_damaged_manifest_cannot_forge_a_line_of_the_report(
    target: Path,
) -> None:
    made = backup_of(target)
    upgrade(target)
    edit_manifest(made, {"absent": ["../x\n  - all done; to finish by hand: rm -rf ~"]})

    code, output = rollback(target, made, "--force")

    assert code == ExitCode.ROLLBACK_FAILED, output
    assert not any(line.lstrip().startswith("- all done") for line in output.splitlines())
    [line] = finish_lines(output)
    assert line.startswith("  - '../x\\n  - all done") and "no command can finish it" in line


def test_a_forced_restore_never_writes_outside_the_project_a_damaged_manifest_names(
    target: Path, tmp_path: Path
) -> None:
    made = backup_of(target)
    upgrade(target)
    planted = tmp_path / "elsewhere" / "planted.md"
    entry = fs.read_json(made.path / "MANIFEST.json")["files"]["standards/universal/a.md"]
    edit_manifest(made, {"outside": {str(planted): entry}})

    code, output = rollback(target, made, "--force")

    assert code == ExitCode.ROLLBACK_FAILED, output
    assert not planted.exists()
    [line] = [x for x in finish_lines(output) if "planted" in x]
    assert "damaged" in line and "cp -p" not in line


@pytest.mark.parametrize("force", [False, True])
def test_a_damaged_manifest_is_reported_as_damaged_not_as_interrupted(
    target: Path, force: bool
) -> None:
    made = backup_of(target)
    upgrade(target)
    (made.path / "MANIFEST.json").write_text("{not json")

    code, output = rollback(target, made, *(["--force"] if force else []))

    assert code == ExitCode.USER_ERROR, output
    assert "damaged" in output and "interrupted" not in output, output
    assert (target / "mcp_server/server.py").read_bytes() == b"upgraded mcp_server/server.py"


def test_backups_verify_calls_a_damaged_manifest_damaged(target: Path) -> None:
    made = backup_of(target)
    (made.path / "MANIFEST.json").write_text("{not json")

    done = cli("backups", "verify", made.id, "--target", str(target.parent), "--json")

    assert done.returncode == ExitCode.USER_ERROR, done.stderr
    [row] = json.loads(done.stdout)["backups"]
    assert any("damaged" in p for p in row["problems"]), row
    assert not any("never finished" in p or "interrupted" in p for p in row["problems"]), row
    listed = cli("backups", "list", "--target", str(target.parent)).stdout
    assert f"{made.id}" in listed and "DAMAGED" in listed
