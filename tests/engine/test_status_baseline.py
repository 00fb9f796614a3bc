"""`praxis-upgrade status` on an install whose baseline is corrupt: said so, with the way out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kits.clikit import cli
from praxis_upgrade.errors import ExitCode
from praxis_upgrade.store import Store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    praxis = tmp_path / "project" / ".praxis-os"
    for folder in ("standards", "workflows", "mcp_server"):
        (praxis / folder).mkdir(parents=True)
    Store(praxis).baseline.parent.mkdir(parents=True)
    Store(praxis).baseline.write_text('{"version": "1.5.0", "files": {')  # cut off mid-write
    return praxis.parent


def test_status_says_the_baseline_is_corrupt_and_how_to_rebuild_it(project: Path) -> None:
    done = cli("status", "--target", str(project))

    assert done.returncode == ExitCode.OK, done.stderr
    assert "no baseline yet" not in done.stdout
    assert "corrupt" in done.stdout and "praxis-upgrade adopt" in done.stdout, done.stdout


def test_status_json_names_the_corrupt_baseline_and_the_hint(project: Path) -> None:
    done = cli("status", "--target", str(project), "--json")

    assert done.returncode == ExitCode.OK, done.stderr
    shown = json.loads(done.stdout)
    assert shown["baseline"] == "corrupt"
    assert "baseline.json is corrupt" in shown["baseline_error"]
    assert "praxis-upgrade adopt" in shown["baseline_hint"]
