"""The server venv: fingerprint, install with the venv's own tools, exact and quick rollback."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kits.sandboxkit import Sandbox, copy_tree
from praxis_upgrade.errors import RollbackError, StepFailed, TargetError
from praxis_upgrade.server import venv
from praxis_upgrade.store import Store

pytestmark = pytest.mark.slow


def _wheel(dest: Path, name: str, version: str) -> Path:
    """A minimal, valid pure-Python wheel built by hand (no network, no build backend)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": (
            f'__version__ = "{version}"\n\n\ndef main():\n    print(__version__)\n'
        ),
        f"{dist}/entry_points.txt": f"[console_scripts]\n{name} = {name}:main\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        )
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    whl = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return whl


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheels")
    for version in ("1.0", "2.0"):
        _wheel(dest, "fakedep", version)
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
