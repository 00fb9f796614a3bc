"""Post-install steps by policy: a wanted one that cannot run (no network for the browser
download) is reported with the command to run later and the upgrade stands; a required one rolls
the upgrade back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade.demo.wheels import wheel, write_wheel
from praxis_upgrade.engine import run as engine
from praxis_upgrade.errors import RolledBack
from praxis_upgrade.server import postinstall

pytestmark = pytest.mark.slow

OFFLINE = (
    "    import sys\n"
    '    print("Downloading Chromium 140.0 ... failed: getaddrinfo ENOTFOUND", file=sys.stderr)\n'
    "    sys.exit(1)\n"
)


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


@pytest.fixture
def playwright_source(prepared: Prepared, tmp_path: Path) -> Path:
    """A copy of the source whose newest commit adds `playwright` to the server's requirements;
    its `playwright install chromium` fails as it does without a network."""
    source = tmp_path / "source"
    shutil.copytree(prepared.source.path, source, symlinks=True)
    write_wheel(source / "wheels", *wheel("playwright", "1.0", script=True, script_body=OFFLINE))
    req = source / "mcp_server" / "requirements.txt"
    req.write_text(req.read_text() + "playwright==1.0\n")
    subprocess.run(["git", "-C", str(source), "commit", "-qam", "browser tool"], check=True)
    return source


def test_a_wanted_step_that_fails_is_reported_with_its_command_and_the_upgrade_stands(
    prepared: Prepared, tmp_path: Path, playwright_source: Path
) -> None:
    target = prepared.target(tmp_path / "project")

    done = cli("run", "--target", str(target.project), "--source", str(playwright_source))

    assert done.returncode == 0, done.stderr
    command = f"{target.praxis / 'venv' / 'bin' / 'playwright'} install chromium"
    assert "post-install: playwright install chromium" in done.stderr  # progress
    assert "post-install step failed (wanted, the upgrade stands)" in done.stdout
    assert f"run it by hand: {command}" in done.stdout
    summary = next((target.praxis / ".cache").glob("upgrade-summary-*.md")).read_text()
    assert f"run it by hand: {command}" in summary
    assert "check initialize: ok" in done.stdout


def test_a_required_step_that_fails_rolls_the_upgrade_back(
    prepared: Prepared,
    tmp_path: Path,
    playwright_source: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(postinstall.NEED, "playwright", postinstall.Need.REQUIRED)
    target = prepared.target(tmp_path / "project")
    before = upgrade_state(target.praxis, skip=("venv",))

    with pytest.raises(RolledBack) as err:
        engine.run_upgrade(target.project, source_path=playwright_source)

    assert "a required post-install step failed" in err.value.message
    assert "ENOTFOUND" in err.value.message
    assert upgrade_state(target.praxis, skip=("venv",)) == before
