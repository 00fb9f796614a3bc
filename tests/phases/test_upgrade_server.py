"""Upgrades with running stand-in servers: stopped by pid, other projects untouched, restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared
from praxis_upgrade import hookimpl
from praxis_upgrade.demo import start_server
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.errors import RolledBack
from praxis_upgrade.plugin.manager import get_plugin_manager


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


def wait_for_state(praxis: Path, timeout: float = 20) -> dict:
    path = praxis / ".mcp_server_state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_only_this_projects_ide_server_is_stopped_and_the_user_is_told_to_reload(
    prepared, tmp_path
):
    mine = prepared.target(tmp_path / "mine")
    other = prepared.target(tmp_path / "other")
    servers = [start_server(t) for t in (mine, other)]
    try:
        for t in (mine, other):
            wait_for_state(t.praxis)
        session = engine.run_upgrade(mine.project, source_path=prepared.source.path)
        assert session.results["server.stop"]["state"] == "stopped"
        assert servers[0].wait(timeout=10) is not None  # ours was stopped
        assert servers[1].poll() is None  # the other project's server lives on
        restart = session.results["server.restart"]
        assert restart["restarted"] is False and "reload" in restart["message"].lower()
    finally:
        for proc in servers:
            proc.kill()
            proc.wait()


def test_a_detached_http_server_is_restarted_on_the_new_version(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    proc = start_server(target, transport="http")
    try:
        old = wait_for_state(target.praxis)
        session = engine.run_upgrade(target.project, source_path=prepared.source.path)
        proc.wait(timeout=10)
        restart = session.results["server.restart"]
        assert restart["restarted"] is True, restart
        new = wait_for_state(target.praxis)
        assert new["pid"] != old["pid"] and alive(new["pid"])
        cmdline = Path(f"/proc/{new['pid']}/cmdline").read_bytes().split(b"\0")
        assert b"--transport" in cmdline and b"http" in cmdline
    finally:
        proc.kill()
        proc.wait()
        state = target.praxis / ".mcp_server_state.json"
        if state.exists():  # the server the upgrade started for us
            os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)


class FailValidation:
    @hookimpl(wrapper=True)
    def praxis_validate(self):  # type: ignore[no-untyped-def]
        yield
        raise RuntimeError("validation made to fail")


def test_after_a_failed_upgrade_the_old_server_runs_and_validates_again(prepared, tmp_path):
    target = prepared.target(tmp_path / "project")
    proc = start_server(target, transport="http")
    try:
        wait_for_state(target.praxis)
        pm = get_plugin_manager(load_entrypoints=False, extra=[FailValidation()])
        with pytest.raises(RolledBack):
            engine.run_upgrade(target.project, source_path=prepared.source.path, pm=pm)
        (session,) = SessionStore(target.praxis).all()
        assert session.results["rollback"]["server"]["restarted"] is True, session.results[
            "rollback"
        ]
        state = wait_for_state(target.praxis)
        assert alive(state["pid"])
        check = subprocess.run(
            [
                sys.executable,
                "-m",
                "praxis_upgrade",
                "validate",
                "--json",
                "--target",
                str(target.project),
            ],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        result = json.loads(check.stdout)
        version = next(c for c in result["checks"] if c["name"] == "server version")
        assert version["ok"] and version["detail"].startswith("1.5.0 (the prAxIs server's own")
    finally:
        proc.kill()
        proc.wait()
        state_file = target.praxis / ".mcp_server_state.json"
        if state_file.exists():
            os.kill(json.loads(state_file.read_text())["pid"], signal.SIGTERM)


def test_symlinked_ide_config_and_gitignore_keep_their_links_and_the_user_is_told_what_to_add(
    prepared: Prepared, tmp_path: Path
) -> None:
    target = prepared.target(tmp_path / "project")
    dotfiles = tmp_path / "dotfiles"  # kept in the user's dotfiles, linked into the project
    dotfiles.mkdir()
    linked = {}
    for name in (".cursor/mcp.json", ".gitignore"):
        here, there = target.project / name, dotfiles / name.replace("/", "-")
        there.write_bytes(here.read_bytes() if here.exists() else b"node_modules/\n")
        here.unlink(missing_ok=True)
        here.symlink_to(there)
        linked[here] = (there, there.read_bytes())
    assert b"--transport" not in (dotfiles / ".cursor-mcp.json").read_bytes()  # 1.6 needs it
    args = ("run", "--target", str(target.project), "--source", str(prepared.source.path))
    done = cli(*args, "--yes", "--conflicts", "keep-local")
    assert done.returncode == 0, done.stderr
    for here, (there, before) in linked.items():
        assert here.is_symlink() and here.readlink() == there
        assert there.read_bytes() == before
    for said in ("IDE config:", ".gitignore:"):
        assert said in done.stderr and "is a symlink" in done.stderr
    (report,) = (target.praxis / ".cache").glob("upgrade-summary-*.md")
    text = report.read_text()
    assert "## IDE configs" in text and '"--transport", "dual"' in text
    assert "## .gitignore" in text and ".praxis-os/.backups/" in text
    again = cli(*args, "--yes")  # nothing left to do: still said, and no upgrade for it
    assert again.returncode == 0, again.stderr
    assert "IDE config:" in again.stderr and ".gitignore:" in again.stderr
    assert len(SessionStore(target.praxis).all()) == 1
