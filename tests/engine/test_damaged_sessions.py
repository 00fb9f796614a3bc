"""A session file that cannot be read never blocks the escape hatch: it is checked against its
schema, moved aside with a clear message, and `rollback --to` its backup restores exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.backups.catalog import list_backups
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.errors import ExitCode
from praxis_upgrade.plugin.manager import get_plugin_manager

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


class KilledAfterServerCode:
    """The process dies once the content and the server code are written."""

    @hookimpl(wrapper=True)
    def praxis_server_code(self):  # type: ignore[no-untyped-def]
        yield
        raise KeyboardInterrupt


def _damage(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        data = json.loads(path.read_text())
        data["phase"], data["completed_steps"] = "three", {"plan": True}
        path.write_text(json.dumps(data))


@pytest.mark.parametrize("how", ["truncated", "wrong-types"])
def test_a_damaged_session_is_moved_aside_and_its_backup_restores_the_install_exactly(
    prepared: Prepared, tmp_path: Path, how: str
) -> None:
    target = prepared.target(tmp_path / "project")
    project, source = str(target.project), str(prepared.source.path)
    before = upgrade_state(target.praxis, skip=("venv",))
    pm = get_plugin_manager(load_entrypoints=False, extra=[KilledAfterServerCode()])
    with pytest.raises(KeyboardInterrupt):
        engine.run_upgrade(target.project, source_path=source, pm=pm)
    (session,) = SessionStore(target.praxis).all()
    (backup,) = [b.id for b in list_backups(target.praxis)]
    _damage(SessionStore(target.praxis).path(session.id), how)

    refused = cli("run", "--target", project, "--source", source)
    assert refused.returncode == ExitCode.USER_ERROR, refused.stderr
    assert "damaged session files were moved aside" in refused.stderr
    assert f"rollback --to {backup}" in refused.stderr and "Traceback" not in refused.stderr
    assert SessionStore(target.praxis).quarantined() == [session.id]
    shown = cli("status", "--target", project).stdout
    assert f"damaged session {session.id} (moved to quarantine/)" in shown
    assert f"rollback --to {backup}" in shown
    again = cli("resume", "--target", project)  # still refused: the install may be half done
    assert again.returncode == ExitCode.USER_ERROR and f"rollback --to {backup}" in again.stderr
    plain = cli("rollback", "--target", project)
    assert plain.returncode == ExitCode.USER_ERROR and f"rollback --to {backup}" in plain.stderr

    back = cli("rollback", "--to", backup, "--target", project)

    assert back.returncode == 0, back.stderr
    assert upgrade_state(target.praxis, skip=("venv",)) == before  # exact: the journal knew
    assert not list(target.project.rglob("*.praxis-rollback-*"))
    assert SessionStore(target.praxis).quarantined() == []
    done = cli("run", "--target", project, "--source", source)
    assert done.returncode == 0, done.stderr


def test_status_names_a_damaged_session_file_without_a_traceback(
    prepared: Prepared, tmp_path: Path
) -> None:
    target = prepared.target(tmp_path / "project")
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    (session,) = SessionStore(target.praxis).all()
    _damage(SessionStore(target.praxis).path(session.id), "wrong-types")

    shown = cli("status", "--target", str(target.project))

    assert shown.returncode == 0, shown.stderr
    assert session.id in shown.stdout and "Traceback" not in shown.stderr
    assert "'phase'" in shown.stdout
