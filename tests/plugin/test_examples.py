"""The example plugin distributions, built into wheels and installed with pip, work through entry points."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kits.fakeplugin import install_plugin_dist, make_fake_install, subprocess_env


def pip_install_example(repo_root: Path, name: str, site: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(repo_root / "examples" / name)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "-q", "--target",
                    str(site), *map(str, wheels.glob("*.whl"))], check=True)


def run(project: Path, source: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "praxis_upgrade", "run", "--json", "--target", str(project),
                           "--source", str(source)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def installed(repo_root, tmp_path):
    site = install_plugin_dist(tmp_path / "site")  # stands in for the default phases
    for name in ("praxis-upgrade-check-workflows", "praxis-upgrade-restart-command"):
        pip_install_example(repo_root, name, site, tmp_path)
    project, source = make_fake_install(tmp_path)
    return site, project, source


def test_examples_show_up_in_plugins(installed):
    site, _, _ = installed
    out = subprocess.run([sys.executable, "-m", "praxis_upgrade", "plugins", "--json"], capture_output=True,
                         text=True, env=subprocess_env(site))
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
    assert {"name": "workflow metadata", "required": True, "ok": True, "detail": "1 workflows valid"} in checks


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
