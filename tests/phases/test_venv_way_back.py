"""The server venv through an upgrade and back: the user's own packages are carried, and a later
rollback restores the exact previous venv offline, after the files, each reported."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kits.clikit import cli, freeze
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade.backups.catalog import check_space, list_backups
from praxis_upgrade.demo.wheels import wheel, write_wheel
from praxis_upgrade.errors import ExitCode, PreflightError
from praxis_upgrade.util import fs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


@pytest.fixture
def own_wheels(tmp_path: Path) -> Path:
    """Wheels of a package the user installs by hand (with a dependency of its own)."""
    dest = tmp_path / "own-wheels"
    write_wheel(dest, *wheel("handpkg", "1.0", requires=["handdep>=1"], script=True))
    write_wheel(dest, *wheel("handdep", "1.0"))
    return dest


def _setup(prepared: Prepared, tmp_path: Path, own_wheels: Path) -> tuple[Path, Path, Path]:
    """(project, install, source copy): a v1.5.0 install whose venv has `handpkg` installed by
    hand, and a private copy of the source whose wheels a test can take away (offline)."""
    target = prepared.target(tmp_path / "project", "v1.5.0")
    python = target.praxis / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(own_wheels)]
        + ["handpkg"],
        check=True,
    )
    source = tmp_path / "source"
    shutil.copytree(prepared.source.path, source, symlinks=True)
    return target.project, target.praxis, source


def _run_script(praxis: Path, name: str) -> str:
    done = subprocess.run(
        [str(praxis / "venv" / "bin" / name)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_hand_installed_packages_are_carried_and_an_offline_rollback_restores_the_exact_venv(
    prepared: Prepared, tmp_path: Path, own_wheels: Path
) -> None:
    project, praxis, source = _setup(prepared, tmp_path, own_wheels)
    before_venv, before_files = freeze(praxis), upgrade_state(praxis, skip=("venv",))
    assert "handpkg==1.0" in before_venv and "fakedep==1.0" in before_venv

    up = cli("run", "--target", str(project), "--source", str(source))

    assert up.returncode == 0, up.stderr
    after = freeze(praxis)
    assert "fakedep==2.0" in after  # the upgrade's requirement
    assert "handpkg==1.0" in after and "handdep==1.0" in after  # the user's, same versions
    assert _run_script(praxis, "handpkg") == "1.0"  # its console script runs from the new venv
    assert "carried over your own packages: handdep==1.0, handpkg==1.0" in up.stdout
    assert "kept with the backup, for an offline rollback" in up.stdout
    summary = next((praxis / ".cache").glob("upgrade-summary-*.md")).read_text()
    assert "carried over your own packages: handdep==1.0, handpkg==1.0" in summary
    (backup,) = [b for b in list_backups(praxis) if b.complete]
    assert backup.kept_venv.is_dir()

    shutil.rmtree(source / "wheels")  # nothing to install from: the rollback must not need it
    back = cli("rollback", "--target", str(project))

    assert back.returncode == 0, back.stderr
    assert freeze(praxis) == before_venv
    assert upgrade_state(praxis, skip=("venv",)) == before_files
    assert not backup.kept_venv.exists()  # it is the live venv again
    # files first, then the venv, each reported
    files_at, venv_at = back.stderr.index("files: "), back.stderr.index("venv: the previous venv")
    assert files_at < venv_at
    assert "venv: the previous venv kept with the backup was put back" in back.stdout


def test_a_venv_that_cannot_be_rebuilt_does_not_stop_the_files_and_says_what_to_run(
    prepared: Prepared, tmp_path: Path, own_wheels: Path
) -> None:
    project, praxis, source = _setup(prepared, tmp_path, own_wheels)
    before_venv, before_files = freeze(praxis), upgrade_state(praxis, skip=("venv",))
    up = cli("run", "--target", str(project), "--source", str(source), "--keep-venvs", "0")
    assert up.returncode == 0, up.stderr
    assert "kept with the backup" not in up.stdout
    assert not any(b.kept_venv.exists() for b in list_backups(praxis))
    wheels = source / "wheels"
    wheels.rename(tmp_path / "wheels-away")  # offline, and the venv was not kept

    back = cli("rollback", "--target", str(project))

    assert back.returncode == ExitCode.ROLLBACK_FAILED, back.stderr
    assert upgrade_state(praxis, skip=("venv",)) == before_files  # every file is back
    assert "venv: the previous venv was not kept and rebuilding it failed" in back.stderr
    assert "reinstall the previous packages (fakedep==1.0" in back.stderr
    assert "handpkg==1.0" in back.stderr
    assert "fakedep==2.0" in freeze(praxis)  # left as it was, not half-built

    (tmp_path / "wheels-away").rename(wheels)
    (own_wheels / "handpkg-1.0-py3-none-any.whl").rename(wheels / "handpkg-1.0-py3-none-any.whl")
    (own_wheels / "handdep-1.0-py3-none-any.whl").rename(wheels / "handdep-1.0-py3-none-any.whl")
    again = cli("rollback", "--target", str(project))

    assert again.returncode == 0, again.stderr
    assert freeze(praxis) == before_venv
    assert upgrade_state(praxis, skip=("venv",)) == before_files
    assert "rebuilding the venv with the" in again.stderr  # progress while it reinstalls
    assert "venv: the previous packages were reinstalled into a fresh venv" in again.stdout


def test_the_plan_counts_the_disk_of_a_second_venv_when_the_requirements_change(
    prepared: Prepared, tmp_path: Path
) -> None:
    target = prepared.target(tmp_path / "project")  # v1.5.0: fakedep 1.0; v1.6.0 needs 2.0
    source = str(prepared.source.path)
    bump = cli("plan", "--target", str(target.project), "--source", source, "--json")
    assert bump.returncode == 0, bump.stderr
    space = json.loads(bump.stdout)["space"]
    assert space["new_venv"] == fs.tree_size(target.praxis / "venv") > 1_000_000
    assert space["backup_and_content"] > 0
    same = cli(
        "plan", "--target", str(target.project), "--source", source, "--rev", "v1.5.0", "--json"
    )
    assert json.loads(same.stdout)["space"]["new_venv"] == 0  # same requirements: no new venv


def test_the_plan_counts_the_session_it_will_save_from_a_sample_within_a_tenth(
    prepared: Prepared, tmp_path: Path
) -> None:
    target = prepared.target(tmp_path / "project")
    source = str(prepared.source.path)
    done = cli("plan", "--target", str(target.project), "--source", source, "--json")
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    assert len(planned["plan"]["entries"]) > 64  # more than the sample: the estimate is one
    whole = 3 * len(json.dumps(planned["plan"]))  # head, part and a rewrite, as it is counted
    assert abs(planned["space"]["session"] - whole) < whole / 10


def test_too_little_disk_for_the_second_venv_is_said_before_anything_is_written() -> None:
    with pytest.raises(PreflightError) as err:
        check_space(
            Path("/"),
            300 * 2**20,
            detail="of which 290.0 MiB for the new venv",
            free_bytes=lambda _: 100 * 2**20,
        )
    assert "of which 290.0 MiB for the new venv" in err.value.message
    assert "100.0 MiB" in err.value.message and err.value.hint
