"""The context every hook receives: the source clone is opened once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from kits.contentkit import make_source
from praxis_upgrade.engine.context import Context, Options
from praxis_upgrade.engine.session import Session, new_id
from praxis_upgrade.errors import SourceError
from praxis_upgrade.plugin.manager import get_plugin_manager


def _context(target: Path, source: Path | None) -> Context:
    session = Session(new_id(), "upgrade", str(target), str(source) if source else None, {})
    return Context(target, Options(), session, get_plugin_manager(load_entrypoints=False).hook)


def test_the_steps_of_a_run_share_one_source_clone_and_its_reader(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    ctx = _context(tmp_path / "project" / ".praxis-os", src.path)
    repo = ctx.repo
    assert ctx.repo is repo and repo.path == src.path.resolve()
    repo.resolve("HEAD")  # its cat-file reader runs now
    proc = repo._objects._proc
    assert proc is not None and ctx.repo._objects._proc is proc  # no second git started


def test_another_source_gets_its_own_clone(tmp_path: Path) -> None:
    first, second = make_source(tmp_path / "a"), make_source(tmp_path / "b")
    ctx = _context(tmp_path / "project" / ".praxis-os", first.path)
    was = ctx.repo
    ctx.session.source = str(second.path)
    assert ctx.repo is not was and ctx.repo.path == second.path.resolve()


def test_a_session_without_a_source_has_no_clone_to_give(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "project" / ".praxis-os", None)
    with pytest.raises(SourceError, match="no source clone"):
        ctx.repo  # noqa: B018
