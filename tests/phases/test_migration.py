"""Installs made before the rename (`.agent-os/`) move to `.praxis-os/`, and back on rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import outside_files, tree_hash, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.demo import make_target
from praxis_upgrade.engine import run as engine
from praxis_upgrade.errors import RolledBack
from praxis_upgrade.plugin.manager import get_plugin_manager


@pytest.fixture
def legacy(sandbox: Sandbox, tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_target(
        tmp_path / "project", sandbox.source, version="v1.5.0", venv=True, legacy=True
    )


def test_the_plan_shows_the_move_and_a_dry_run_moves_nothing(legacy, sandbox):  # type: ignore[no-untyped-def]
    out = cli("plan", "--target", str(legacy.project), "--source", str(sandbox.source.path))
    assert out.returncode == 0, out.stderr
    assert "move: .agent-os/ -> .praxis-os/" in out.stdout
    assert "v1.5.0 -> v1.6.0" in out.stdout  # adopted from the same source paths
    assert (legacy.project / ".agent-os").is_dir()
    assert not (legacy.project / ".praxis-os").exists()


def test_an_agent_os_install_is_moved_upgraded_and_rolled_back_exactly(legacy, sandbox):  # type: ignore[no-untyped-def]
    project = legacy.project
    before_tree = upgrade_state(project / ".agent-os", skip=("venv",))
    before_outside = outside_files(project)

    out = cli("run", "--target", str(project), "--source", str(sandbox.source.path), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr

    assert not (project / ".agent-os").exists() and (project / ".praxis-os").is_dir()
    mcp = json.loads((project / ".cursor/mcp.json").read_text())
    server = mcp["mcpServers"]["agent-os-rag"]  # the user's server key is kept
    assert server["command"] == "${workspaceFolder}/.praxis-os/venv/bin/python"
    assert server["env"]["PYTHONPATH"] == "${workspaceFolder}/.praxis-os"
    gitignore = (project / ".gitignore").read_text()
    assert ".agent-os" not in gitignore and ".praxis-os/.cache/" in gitignore
    status = json.loads(cli("status", "--target", str(project), "--json").stdout)
    assert status["installed_version"] == "v1.6.0"

    back = cli("rollback", "--target", str(project), "--json")
    assert back.returncode == 0, back.stdout + back.stderr
    assert not (project / ".praxis-os").exists()
    assert upgrade_state(project / ".agent-os", skip=("venv",)) == before_tree
    assert outside_files(project) == before_outside


def test_a_failure_after_the_move_rolls_back_to_the_agent_os_folder(legacy, sandbox):  # type: ignore[no-untyped-def]
    project = legacy.project
    before_tree = tree_hash(project / ".agent-os", skip=("venv",))
    before_outside = outside_files(project)

    class FailAfterContent:
        @hookimpl(wrapper=True)
        def praxis_content(self):  # type: ignore[no-untyped-def]
            yield
            raise RuntimeError("injected after the move")

    pm = get_plugin_manager(load_entrypoints=False, extra=[FailAfterContent()])
    with pytest.raises(RolledBack):
        engine.run_upgrade(project, source_path=sandbox.source.path, pm=pm)

    assert not (project / ".praxis-os").exists()
    assert tree_hash(project / ".agent-os", skip=("venv",)) == before_tree
    assert outside_files(project) == before_outside


def test_a_symlinked_ide_config_keeps_its_link_through_the_move_and_the_user_is_told(
    legacy, sandbox, tmp_path
):  # type: ignore[no-untyped-def]
    project = legacy.project
    cursor = project / ".cursor/mcp.json"
    shared = tmp_path / "dotfiles-mcp.json"  # the user's own, linked into the project
    shared.write_bytes(cursor.read_bytes())
    cursor.unlink()
    cursor.symlink_to(shared)
    before = shared.read_bytes()
    assert b".agent-os" in before
    out = cli("run", "--target", str(project), "--source", str(sandbox.source.path), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    assert cursor.is_symlink() and cursor.readlink() == shared
    assert shared.read_bytes() == before  # never written through the link
    assert "is a symlink" in out.stderr and "replace .agent-os with .praxis-os" in out.stderr
    (report,) = (project / ".praxis-os/.cache").glob("upgrade-summary-*.md")
    assert "## Left for you after the move" in report.read_text()
    assert ".praxis-os/.cache/" in (project / ".gitignore").read_text()  # the rest was done
