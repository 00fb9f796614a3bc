"""A failure anywhere in phase 5 leaves an open session: `resume` finishes the upgrade and
`rollback` undoes it, byte for byte; a venv left aside is never taken for the current run's."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from kits.clikit import cli, freeze
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade.backups import catalog
from praxis_upgrade.content import baseline
from praxis_upgrade.engine import registry
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import RUNNING, SessionStore
from praxis_upgrade.errors import ExitCode, Unfinished
from praxis_upgrade.server import venv
from praxis_upgrade.source import targets
from praxis_upgrade.store import Store

pytestmark = pytest.mark.slow

# every call of phase 5 that writes, in order (module, function)
POINTS = [
    (baseline, "save"),
    (targets, "remember_source"),
    (venv, "keep_previous"),
    (venv, "discard_previous"),
    (catalog, "prune_backups"),
    (catalog, "prune_kept_venvs"),
    (registry, "clear_notices"),
    (catalog, "mark_good"),
]


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


@pytest.fixture(scope="module")
def finished(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a clean upgrade v1.5.0 -> v1.6.0 leaves (files; the venv by its packages)."""
    target = prepared.target(tmp_path_factory.mktemp("clean") / "project")
    engine.run_upgrade(target.project, source_path=prepared.source.path)
    return {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}


def _fail_at(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, name, disk_full)


@pytest.mark.parametrize(
    ("module", "name"), POINTS, ids=[f"{m.__name__.rsplit('.', 1)[1]}.{n}" for m, n in POINTS]
)
def test_a_failure_at_each_point_of_cleanup_is_finished_by_resume_or_undone_by_rollback(
    prepared: Prepared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    finished: dict[str, str],
    module: object,
    name: str,
) -> None:
    target = prepared.target(tmp_path / "project")
    before = {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}
    with monkeypatch.context() as patch:
        _fail_at(patch, module, name)
        with pytest.raises(Unfinished) as err:
            engine.run_upgrade(target.project, source_path=prepared.source.path)
    assert "No space left on device" in err.value.message and "resume" in (err.value.hint or "")
    (session,) = SessionStore(target.praxis).all()
    assert session.status == RUNNING  # open: no other run may start over it
    refused = cli("run", "--target", str(target.project), "--source", str(prepared.source.path))
    assert refused.returncode == ExitCode.USER_ERROR and session.id in refused.stderr

    if POINTS.index((module, name)) % 2 == 0:
        done = cli("resume", "--target", str(target.project), "--json")
        assert done.returncode == 0, done.stderr
        after = {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}
        assert _comparable(after) == _comparable(finished)
        assert not Store(target.praxis).previous_venv.exists()
        record = baseline.load(target.praxis)
        assert record is not None and record.version == "v1.6.0"
        assert [b for b in catalog.list_backups(target.praxis) if b.good]
    else:
        done = cli("rollback", "--target", str(target.project), "--json")
        assert done.returncode == 0, done.stderr
        after = {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}
        assert _comparable(after) == _comparable(before)


def _comparable(state: dict[str, str]) -> dict[str, str]:
    """Files and packages, without the baseline record (its time differs from run to run)."""
    return {k: v for k, v in state.items() if k != ".praxis-upgrade/baseline.json"}


def test_a_venv_left_aside_by_an_earlier_run_is_kept_but_never_used_as_the_old_venv(
    prepared: Prepared, tmp_path: Path
) -> None:
    target = prepared.target(tmp_path / "project")
    leftover = Store(target.praxis).previous_venv
    (leftover / "bin").mkdir(parents=True)
    (leftover / "bin" / "python").write_text("not a venv of this run\n")

    done = cli("run", "--target", str(target.project), "--source", str(prepared.source.path))

    assert done.returncode == 0, done.stderr
    assert "a venv left over by an earlier run was moved to" in done.stderr
    (kept,) = target.praxis.glob("venv.praxis-leftover-*")
    assert (kept / "bin" / "python").read_text() == "not a venv of this run\n"
    assert "fakedep==2.0" in freeze(target.praxis)


def test_plain_rollback_undoes_an_upgrade_whose_cleanup_failed_under_an_older_version(
    prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = prepared.target(tmp_path / "project")
    before = {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}
    with monkeypatch.context() as patch:
        _fail_at(patch, catalog, "mark_good")
        with pytest.raises(Unfinished):
            engine.run_upgrade(target.project, source_path=prepared.source.path)
    store = SessionStore(target.praxis)
    (session,) = store.all()
    session.status = "failed"  # what versions before this one left: a closed, failed session
    store.save(session)

    back = cli("rollback", "--target", str(target.project))

    assert back.returncode == 0, back.stderr
    after = {**upgrade_state(target.praxis, skip=("venv",)), "venv": freeze(target.praxis)}
    assert after == before
