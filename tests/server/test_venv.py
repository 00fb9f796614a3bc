"""The server venv: fingerprint, install with the venv's own tools, exact and quick rollback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kits.sandboxkit import Sandbox, copy_tree
from praxis_upgrade.demo.wheels import wheel, write_wheel
from praxis_upgrade.errors import RollbackError, StepFailed, TargetError
from praxis_upgrade.server import venv
from praxis_upgrade.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheels")
    for version in ("1.0", "2.0"):
        write_wheel(dest, *wheel("fakedep", version, script=True))
    write_wheel(dest, *wheel("olddep", "1.0"))  # a dependency upstream later drops
    write_wheel(dest, *wheel("handpkg", "1.0", requires=["handdep>=1"], script=True))
    write_wheel(dest, *wheel("handdep", "1.0"))
    write_wheel(dest, *wheel("pinned", "1.0", requires=["fakedep<2"]))
    return dest


def _install(target: Path, wheels: Path, requirement: str, *, use_uv: bool) -> None:
    """A target whose venv has `requirement` installed (uv builds it fast; the subject is later)."""
    uv = venv.uv_binary()
    assert uv, "the dev environment has uv"
    (target / "mcp_server").mkdir(parents=True)
    (target / "mcp_server" / "requirements.txt").write_text(f"# server deps\n{requirement}\n")
    venv_dir = target / "venv"
    if use_uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv_dir)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv_dir / "bin" / "python"),
            "--no-index",
            "--find-links",
            str(wheels),
            requirement,
        ],
        check=True,
    )


@pytest.fixture
def target(tmp_path: Path, wheels: Path) -> Path:
    target = tmp_path / "proj" / ".praxis-os"
    _install(target, wheels, "fakedep==1.0", use_uv=True)
    return target


@pytest.fixture(scope="module")
def pip_venv_target(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A target whose venv `python -m venv` made (so it has pip), with fakedep 1.0.

    Built once, copied per test.
    """
    target = tmp_path_factory.mktemp("pip-venv") / "proj" / ".praxis-os"
    _install(target, wheels, "fakedep==1.0", use_uv=False)
    return target


def _fakedep_version(target: Path) -> str:
    return subprocess.run(
        [
            str(target / "venv" / "bin" / "python"),
            "-c",
            "import fakedep; print(fakedep.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_unchanged_requirements_and_interpreter_need_no_install(target: Path) -> None:
    fp = venv.requirements_fingerprint(target, venv.venv_python(target))
    assert venv.needs_install(target, fp) is False


def test_changed_requirements_need_an_install(target: Path) -> None:
    fp = venv.requirements_fingerprint(target, venv.venv_python(target))
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    assert venv.needs_install(target, fp) is True


def test_without_a_baseline_a_satisfied_venv_is_left_alone(target: Path) -> None:
    (target / "mcp_server" / "requirements.txt").write_text("fakedep>=1.0  # any\n")
    assert venv.needs_install(target, None) is False
    (target / "mcp_server" / "requirements.txt").write_text("fakedep>=2.0\n")
    assert venv.needs_install(target, None) is True


@pytest.mark.parametrize("use_uv", [True, False], ids=["uv", "pip"])
def test_install_then_restore_gives_back_the_exact_previous_packages(
    target: Path, wheels: Path, use_uv: bool
) -> None:
    original = venv.freeze(target)
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True, use_uv=use_uv)
    assert change.tool == ("uv" if use_uv else "pip")
    assert _fakedep_version(target) == "2.0"
    assert venv.freeze(target) != original
    assert "fakedep==2.0" in change.after and "fakedep==1.0" in change.before
    venv.restore_environment(target, change)
    assert venv.freeze(target) == original
    assert _fakedep_version(target) == "1.0"
    venv.restore_environment(target, change)  # idempotent
    assert venv.freeze(target) == original


def test_install_uses_the_venv_interpreter_not_pip_on_path(
    target: Path, wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    for name in ("pip", "pip3", "python", "python3"):
        (trap / name).write_text("#!/bin/sh\necho trap >&2\nexit 99\n")
        (trap / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{trap}{os.pathsep}{os.environ['PATH']}")
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    venv.install_requirements(target, find_links=[wheels], no_index=True, use_uv=False)
    assert _fakedep_version(target) == "2.0"


@pytest.mark.parametrize("use_uv", [True, False], ids=["uv", "pip"])
def test_console_scripts_of_the_new_venv_run_from_its_final_path(
    target: Path, wheels: Path, use_uv: bool
) -> None:
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    venv.install_requirements(target, find_links=[wheels], no_index=True, use_uv=use_uv)
    script = target / "venv" / "bin" / "fakedep"
    assert script.read_text().splitlines()[0].startswith(f"#!{target / 'venv' / 'bin' / 'python'}")
    assert (
        subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout.strip()
        == "2.0"
    )


def test_uninstallable_requirement_fails_clearly_and_leaves_the_live_venv_unchanged(
    target: Path, wheels: Path
) -> None:
    original = venv.freeze(target)
    (target / "mcp_server" / "requirements.txt").write_text(
        "fakedep==2.0\nno-such-package-praxis==9.9\n"
    )
    with pytest.raises(StepFailed) as err:
        venv.install_requirements(target, find_links=[wheels], no_index=True)
    assert "no-such-package-praxis" in err.value.message
    assert "previous venv was put back" in (err.value.hint or "")
    assert venv.freeze(target) == original
    assert not Store(target).previous_venv.exists()
    assert not list(target.glob("venv.praxis-*"))


def test_an_interrupted_install_is_undone_by_restore(target: Path, wheels: Path) -> None:
    original = venv.freeze(target)
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True)
    # simulate a crash in the middle of a later rebuild: half a venv at venv/, the old one aside
    (target / "venv" / "pyvenv.cfg").unlink()
    venv.restore_environment(target, change)
    assert venv.freeze(target) == original


def test_discard_previous_removes_the_kept_venv_and_is_idempotent(
    target: Path, wheels: Path
) -> None:
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    venv.install_requirements(target, find_links=[wheels], no_index=True)
    assert Store(target).previous_venv.is_dir()
    venv.discard_previous(target)
    venv.discard_previous(target)
    assert not Store(target).previous_venv.exists()
    assert _fakedep_version(target) == "2.0"


def test_missing_venv_is_a_target_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as err:
        venv.venv_python(tmp_path)
    assert "python3 -m venv" in (err.value.hint or "")


def test_broken_venv_interpreter_is_a_target_error(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    with pytest.raises(TargetError, match="does not run"):
        venv.venv_python(tmp_path)


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("playwright>=1.40.0\n", [["playwright", "install", "chromium"]]),
        ("Playwright[extra] ; python_version >= '3.8'\n", [["playwright", "install", "chromium"]]),
        ("# playwright is not needed\nmcp>=1.0\n", []),
        ("pytest-playwright==0.4\n", []),
        ("--find-links playwright\nmcp\n", []),
    ],
    ids=["pinned", "extras-marker", "comment", "other-name", "option"],
)
def test_post_install_steps_come_from_real_requirement_lines(
    text: str, steps: list[list[str]]
) -> None:
    assert venv.post_install_steps(text) == steps


def test_post_install_runs_the_venv_executable_and_reports_failures(tmp_path: Path) -> None:
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "playwright").write_text('#!/bin/sh\necho "installing $2"\n')
    (bindir / "failing").write_text("#!/bin/sh\necho boom >&2\nexit 4\n")
    for f in bindir.iterdir():
        f.chmod(0o755)
    out = venv.run_post_install(
        tmp_path, [["playwright", "install", "chromium"], ["failing"], ["absent"]]
    )
    assert [o.ok for o in out] == [True, False, False]
    assert "installing chromium" in out[0].output
    assert out[1].returncode == 4 and "boom" in out[1].output and "run it by hand" in out[1].message
    assert "missing" in out[2].message
    assert venv.StepOutcome.from_json(out[1].to_json()) == out[1]


def test_sandbox_install_breaking_the_server_is_caught_and_restore_brings_it_back(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    from praxis_upgrade.server import probe, toolnames

    source = sandbox.source  # make_source(<dir>/praxis-os), built once per session
    # a copy of make_target(tmp_path / "project", source, version="v1.5.0", venv=True, edits=False)
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True, edits=False).praxis
    expected = toolnames.expected_tools(target)
    assert probe.probe_server(target, expected=expected, smoke=False).ok
    fingerprint = venv.requirements_fingerprint(target, venv.venv_python(target))
    req = target / "mcp_server" / "requirements.txt"
    req.write_text(req.read_text().replace("fakedep==1.0", "fakedep==2.0"))
    assert venv.needs_install(target, fingerprint)
    change = venv.install_requirements(target, find_links=[source.path / "wheels"], no_index=True)
    broken = probe.probe_server(target, expected=expected, smoke=False)
    assert not broken.ok and "fakedep" in broken.checks[0].detail
    venv.restore_environment(target, change)
    assert probe.probe_server(target, expected=expected, smoke=False).ok


@pytest.mark.parametrize("use_uv", [True, False], ids=["uv", "pip"])
def test_pip_and_setuptools_of_the_old_venv_are_kept_exactly(
    tmp_path: Path, wheels: Path, pip_venv_target: Path, use_uv: bool
) -> None:
    target = tmp_path / "proj" / ".praxis-os"
    copy_tree(pip_venv_target, target, venvs=("venv",))  # a `python -m venv` venv: it has pip
    seed_before = [
        line for line in venv.freeze(target) if line.startswith(("pip==", "setuptools=="))
    ]
    assert any(line.startswith("pip==") for line in seed_before)
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True, use_uv=use_uv)
    assert [
        line for line in change.after if line.startswith(("pip==", "setuptools=="))
    ] == seed_before
    assert change.dropped == []
    pip = subprocess.run(
        [str(target / "venv" / "bin" / "pip"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(target / "venv") in pip.stdout


def test_restore_after_the_previous_venv_was_discarded_reinstalls_the_exact_old_set(
    target: Path, wheels: Path
) -> None:
    original = venv.freeze(target)
    (target / "mcp_server" / "requirements.txt").write_text("fakedep>=1.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True)
    assert _fakedep_version(target) == "2.0"  # the newest that satisfies >=1.0
    venv.discard_previous(target)  # the upgrade finished
    restored = venv.EnvChange.from_json(json.loads(json.dumps(change.to_json())))
    venv.restore_environment(target, restored)  # ... and is rolled back later
    assert venv.freeze(target) == original and _fakedep_version(target) == "1.0"
    assert not list(target.glob("venv.praxis-*"))


def test_restore_that_cannot_rebuild_says_what_to_reinstall(
    target: Path, wheels: Path, tmp_path: Path
) -> None:
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True)
    venv.discard_previous(target)
    change.find_links = [str(tmp_path / "no-wheels-here")]
    with pytest.raises(RollbackError) as err:
        venv.restore_environment(target, change)
    assert "fakedep==1.0" in (err.value.hint or "")
    assert _fakedep_version(target) == "2.0"  # left as it was, not half-built


def test_an_empty_change_record_only_puts_a_kept_venv_back(target: Path) -> None:
    original = venv.freeze(target)
    venv.restore_environment(target, venv.EnvChange.from_json({}))
    assert venv.freeze(target) == original


def _hand_install(target: Path, wheels: Path, *packages: str) -> None:
    uv = venv.uv_binary()
    assert uv
    python = str(target / "venv" / "bin" / "python")
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", python, "--no-index", "--find-links", str(wheels)]
        + list(packages),
        check=True,
    )


@pytest.mark.parametrize("use_uv", [True, False], ids=["uv", "pip"])
def test_packages_installed_by_hand_are_carried_at_their_versions_but_dropped_deps_are_not(
    tmp_path: Path, wheels: Path, pip_venv_target: Path, use_uv: bool
) -> None:
    target = tmp_path / "proj" / ".praxis-os"
    copy_tree(pip_venv_target, target, venvs=("venv",))
    old = "fakedep==1.0\nolddep==1.0\n"
    (target / "mcp_server" / "requirements.txt").write_text(old)
    _hand_install(target, wheels, "olddep==1.0", "handpkg")
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")

    change = venv.install_requirements(
        target, find_links=[wheels], no_index=True, use_uv=use_uv, old_requirements=old
    )

    now = venv.freeze(target)
    assert {"handpkg==1.0", "handdep==1.0", "fakedep==2.0"} <= set(now)
    assert not any(line.startswith("olddep==") for line in now)  # upstream's, no longer needed
    assert change.carried == ["handdep==1.0", "handpkg==1.0"]
    assert change.dropped == ["olddep==1.0"] and change.not_carried == {}
    assert change.carry_problems == []
    script = subprocess.run(
        [str(target / "venv" / "bin" / "handpkg")], capture_output=True, text=True, check=True
    )
    assert script.stdout.strip() == "1.0"


def test_a_package_without_a_record_is_named_with_the_command_that_reinstalls_it(
    target: Path, wheels: Path
) -> None:
    _hand_install(target, wheels, "handdep")
    site = next((target / "venv").glob("lib/python3*/site-packages"))
    (site / "handdep-1.0.dist-info" / "RECORD").unlink()  # as `setup.py develop` leaves it
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")

    change = venv.install_requirements(
        target, find_links=[wheels], no_index=True, old_requirements="fakedep==1.0\n"
    )

    assert list(change.not_carried) == ["handdep==1.0"]
    assert "RECORD" in change.not_carried["handdep==1.0"]
    assert change.dropped == ["handdep==1.0"]
    command = change.reinstall_command()
    assert command.endswith("handdep==1.0") and str(target / "venv" / "bin" / "python") in command
    subprocess.run(
        [*command.replace("handdep==1.0", "").split(), "--no-index", "--find-links", str(wheels)]
        + ["handdep==1.0"],
        check=True,
        capture_output=True,
    )
    assert "handdep==1.0" in venv.freeze(target)  # the command works as given


def test_a_carried_package_that_conflicts_with_the_new_requirements_is_reported(
    target: Path, wheels: Path
) -> None:
    _hand_install(target, wheels, "pinned")  # needs fakedep<2
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")

    change = venv.install_requirements(
        target, find_links=[wheels], no_index=True, old_requirements="fakedep==1.0\n"
    )

    assert change.carried == ["pinned==1.0"]
    assert change.carry_problems and "pinned" in change.carry_problems[0]


def test_a_venv_kept_with_the_backup_comes_back_offline_and_exactly(
    target: Path, wheels: Path, tmp_path: Path
) -> None:
    _hand_install(target, wheels, "handpkg")
    original = venv.freeze(target)
    (target / "mcp_server" / "requirements.txt").write_text("fakedep==2.0\n")
    change = venv.install_requirements(target, find_links=[wheels], no_index=True)
    kept = target / ".backups" / "2026-01-01-000000" / "venv"
    kept.parent.mkdir(parents=True)
    assert venv.keep_previous(target, kept)
    assert not venv.keep_previous(target, kept)  # nothing left aside to keep
    change.find_links = [str(tmp_path / "no-wheels-here")]  # offline

    how = venv.restore_environment(target, change, kept=kept)

    assert "kept with the backup" in how
    assert venv.freeze(target) == original and _fakedep_version(target) == "1.0"
    assert not kept.exists() and not list(target.glob("venv.praxis-*"))


def test_a_long_silent_command_is_said_to_be_still_running(tmp_path: Path) -> None:
    flag = tmp_path / "seen"
    seen: list[str] = []

    def progress(line: str) -> None:
        seen.append(line)
        if line.startswith("still running: "):
            flag.touch()  # the command below ends only once a heartbeat was shown

    code, _ = venv.run_streamed(
        ["sh", "-c", f"while [ ! -e {flag} ]; do sleep 0.05; done; echo done"],
        progress,
        timeout=600,
        heartbeat=0.2,
    )

    assert code == 0
    assert seen[0].startswith("still running: sh -c") and seen[-1] == "done"
    assert venv.installer_milestone(seen[0]) == seen[0]  # shown on the terminal during installs
