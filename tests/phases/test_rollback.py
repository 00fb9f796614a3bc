"""Rollback on the sandbox through the command line: what it puts back and what it keeps."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.engine import run as engine
from praxis_upgrade.plugin.manager import get_plugin_manager
from praxis_upgrade.store import Store


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_rollback_keeps_the_remembered_source_so_the_next_run_needs_none(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    project = str(target.project)
    first = cli("run", "--target", project, "--source", str(prepared.source.path))
    assert first.returncode == 0, first.stderr
    settings = Store(target.praxis).settings.read_bytes()

    back = cli("rollback", "--target", project)
    assert back.returncode == 0, back.stderr
    assert Store(target.praxis).settings.read_bytes() == settings

    again = cli("run", "--target", project, "--json")  # no --source: it is remembered
    assert again.returncode == 0, again.stderr
    plan = json.loads(again.stdout)["session"]["results"]["plan"]
    assert (plan["from_version"], plan["to_version"]) == ("v1.5.0", "v1.6.0")


def test_a_package_the_upgrade_added_is_gone_after_rollback_though_it_was_imported(
    prepared, tmp_path
):
    target = prepared.target(tmp_path / "project", "v1.4.0")
    project = str(target.project)
    before = upgrade_state(target.praxis, skip=("venv",))
    package = target.praxis / "mcp_server" / "server" / "tools" / "workflow_tools"
    assert not package.exists()
    up = cli("run", "--target", project, "--source", str(prepared.source.path), "--rev", "v1.5.0")
    assert up.returncode == 0, up.stderr
    assert (package / "__init__.py").is_file()
    # the new server ran: Python cached the new package's bytecode beside it
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    assert list((package / "__pycache__").glob("*.pyc"))

    back = cli("rollback", "--target", project)

    assert back.returncode == 0, back.stderr
    assert not package.exists()  # not an empty namespace package of __pycache__ folders
    assert upgrade_state(target.praxis, skip=("venv",)) == before


class KilledMidRollback:
    """Stops the process in the middle of a rollback (as a kill would), before it finishes."""

    @hookimpl(wrapper=True)
    def praxis_rollback(self):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt
        yield  # pragma: no cover - a wrapper must be a generator


def test_a_rollback_in_progress_is_visible_and_blocks_new_runs(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    project, source = str(target.project), str(prepared.source.path)
    before = upgrade_state(target.praxis, skip=("venv",))
    up = cli("run", "--target", project, "--source", source)
    assert up.returncode == 0, up.stderr
    pm = get_plugin_manager(load_entrypoints=False, extra=[KilledMidRollback()])
    with pytest.raises(KeyboardInterrupt):
        engine.rollback_upgrade(target.praxis, pm=pm)

    status = json.loads(cli("status", "--target", project, "--json").stdout)
    assert status["sessions"][-1]["state"] == "interrupted"  # not "completed"
    assert "interrupted while rolling back" in cli("status", "--target", project).stdout
    refused = cli("run", "--target", project, "--source", source)
    assert refused.returncode == 1 and "rollback" in refused.stderr

    again = cli("rollback", "--target", project)
    assert again.returncode == 0, again.stderr
    assert upgrade_state(target.praxis, skip=("venv",)) == before
