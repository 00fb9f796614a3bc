"""`run --all`: every registered project from its own source; one failure does not stop the rest."""

from __future__ import annotations

import json
import subprocess
import sys

from kits.fakeplugin import install_plugin_dist, make_fake_install, subprocess_env
from praxis_upgrade.integrations import multi


def test_worst_exit_code_wins():
    assert multi.worst([0, 3, 0]) == 3
    assert multi.worst([3, 4, 1]) == 4
    assert multi.worst([]) == 0


def test_all_registered_projects_are_upgraded_and_a_failure_is_contained(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    env = subprocess_env(site, PRAXIS_UPGRADE_HOME=str(tmp_path / "home"))
    projects = []
    for name in ("alpha", "beta", "gamma"):
        project, source = make_fake_install(tmp_path / name)
        projects.append(project)
        code = (
            "from praxis_upgrade.engine import registry; import sys; "
            "registry.register(sys.argv[1], sys.argv[2], 'notify')"
        )
        subprocess.run([sys.executable, "-c", code, str(project), str(source)], env=env, check=True)
    (projects[1] / ".praxis-os" / "fail-at").write_text("content")
    out = subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", "run", "--all", "--json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 4, out.stderr
    rows = {r["project"]: r for r in json.loads(out.stdout)["projects"]}
    assert rows[str(projects[0])]["result"] == "upgraded"
    assert rows[str(projects[1])]["result"] == "RolledBack"
    assert rows[str(projects[2])]["result"] == "upgraded"
    assert (projects[2] / ".praxis-os" / "standards" / "a.md").read_text() == "upgraded a\n"
    assert (projects[1] / ".praxis-os" / "standards" / "a.md").read_text() == "original a\n"
    table = subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", "run", "--all"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert "project" in table.stdout and "from -> to" in table.stdout
    assert table.stdout.count("upgraded") == 2
