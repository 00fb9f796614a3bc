"""The example plugins, built into wheels and installed with pip, work through entry points."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kits.fakeplugin import install_plugin_dist, make_fake_install, subprocess_env

EXAMPLES = ("praxis-upgrade-check-workflows", "praxis-upgrade-restart-command")


@pytest.fixture(scope="session")
def example_wheels(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Both example distributions built into wheels with pip, once per session.

    Each is built from a copy of its folder, so the build leaves no build/ or egg-info behind in
    the working tree.
    """
    root = tmp_path_factory.mktemp("example-wheels")
    wheels = root / "wheels"
    for name in EXAMPLES:
        shutil.copytree(
            repo_root / "examples" / name,
            root / name,
            ignore=shutil.ignore_patterns("build", "dist", "*.egg-info"),
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                str(wheels),
                str(root / name),
            ],
            check=True,
        )
    return sorted(wheels.glob("*.whl"))


@pytest.fixture(scope="module")
def site(example_wheels: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake plugin (it stands in for the default phases) and both examples pip-installed.

    Tests only read it (through subprocesses), so the module shares one.
    """
    site = install_plugin_dist(tmp_path_factory.mktemp("examples") / "site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            *map(str, example_wheels),
        ],
        check=True,
    )
    return site


def run(project: Path, source: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "praxis_upgrade",
            "run",
            "--json",
            "--target",
            str(project),
            "--source",
            str(source),
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def installed(site, tmp_path):
    project, source = make_fake_install(tmp_path)
    return site, project, source


def test_examples_show_up_in_plugins(installed):
    site, _, _ = installed
    out = subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(site),
    )
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["check_workflows"]["hooks"] == ["praxis_validate"]
    assert rows["check_workflows"]["distribution"] == "praxis-upgrade-check-workflows"
    assert rows["restart_command"]["hooks"] == ["praxis_restart_server"]


def test_required_check_from_a_plugin_rolls_back_a_broken_upgrade(installed):
    site, project, source = installed
    wf = project / ".praxis-os" / "workflows" / "team_flow_v1"
    wf.mkdir(parents=True)
    (wf / "metadata.json").write_text('{"phases": [{"phase_file": "phase-1.md"}]}')
    out = run(project, source, subprocess_env(site))
    assert out.returncode == 4, out.stderr
    assert "workflow metadata" in out.stderr and "phase-1.md is missing" in out.stderr
    assert (project / ".praxis-os" / "standards" / "a.md").read_text() == "original a\n"
    (wf / "phase-1.md").write_text("# Phase 1\n")
    ok = run(project, source, subprocess_env(site))
    assert ok.returncode == 0, ok.stderr
    checks = json.loads(ok.stdout)["session"]["results"]["validation"]
    assert {
        "name": "workflow metadata",
        "required": True,
        "ok": True,
        "detail": "1 workflows valid",
    } in checks


def test_restart_plugin_replaces_the_default_restart(installed, tmp_path):
    site, project, source = installed
    marker = tmp_path / "restarted"
    cmd = f"{sys.executable} -c \"open('{marker}', 'w').write('yes')\""
    env = subprocess_env(site, PRAXIS_UPGRADE_RESTART_COMMAND=cmd, FAKEPLUGIN_NO_RESTART="1")
    out = run(project, source, env)
    assert out.returncode == 0, out.stderr
    restart = json.loads(out.stdout)["session"]["results"]["server.restart"]
    assert restart["restarted"] is True and "restarted with" in restart["message"]
    assert marker.read_text() == "yes"


def test_disabled_example_plugin_is_not_called(installed, tmp_path):
    site, project, source = installed
    marker = tmp_path / "restarted"
    env = subprocess_env(site, PRAXIS_UPGRADE_RESTART_COMMAND=f"touch {marker}")
    env["PRAXIS_UPGRADE_DISABLE_PLUGINS"] += ",restart_command"
    assert run(project, source, env).returncode == 0
    assert not marker.exists()
