"""No litter after a crash: resume and rollback clean what this tool itself left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kits.clikit import cli
from kits.sandboxkit import Sandbox
from kits.upgradekit import Prepared, upgrade_state
from praxis_upgrade import hookimpl
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.plugin.manager import get_plugin_manager
from praxis_upgrade.store import Store
from praxis_upgrade.util import litter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(sandbox: Sandbox) -> Prepared:
    return Prepared(sandbox)


class KilledAfterContent:
    """The process dies right after the content step wrote its files (and the .gitignore),
    before the engine saved the step as done."""

    @hookimpl(wrapper=True)
    def praxis_content(self):  # type: ignore[no-untyped-def]
        yield
        raise KeyboardInterrupt


def _interrupted_after_content(prepared: Prepared, tmp_path: Path) -> tuple[Path, Path]:
    target = prepared.target(tmp_path / "project")
    pm = get_plugin_manager(load_entrypoints=False, extra=[KilledAfterContent()])
    with pytest.raises(KeyboardInterrupt):
        engine.run_upgrade(target.project, source_path=prepared.source.path, pm=pm)
    return target.project, target.praxis


def _temps(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp") if "venv" not in p.parts)


def test_resume_removes_temp_files_a_kill_left_beside_the_files_it_was_writing(
    prepared: Prepared, tmp_path: Path
) -> None:
    project, praxis = _interrupted_after_content(prepared, tmp_path)
    (session,) = SessionStore(praxis).all()
    touched = session.results["plan"]["touched"]
    # what a kill inside an atomic write leaves: the temp file beside its destination
    planted = [praxis / Path(rel).parent / f".{Path(rel).name}.k1ll3d_x.tmp" for rel in touched[:3]]
    planted.append(project / "..gitignore.k1ll3d_x.tmp")
    for path in planted:
        path.write_text("half a file")
    # and beside this tool's own files: a session and the baseline
    own = [
        Store(praxis).sessions / f".{session.id}.json.k1ll3d_x.tmp",
        Store(praxis).baseline.parent / ".baseline.json.k1ll3d_x.tmp",
    ]
    for path in own:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{")

    done = cli("resume", "--target", str(project))

    assert done.returncode == 0, done.stderr
    assert _temps(praxis) == [] and not (project / "..gitignore.k1ll3d_x.tmp").exists()


def test_rollback_after_a_kill_right_after_the_gitignore_write_leaves_no_copy_of_it(
    prepared: Prepared, tmp_path: Path
) -> None:
    project, praxis = _interrupted_after_content(prepared, tmp_path / "a")
    clean = prepared.target(tmp_path / "b" / "project")
    before = upgrade_state(clean.praxis, skip=("venv",))
    gitignore_before = (clean.project / ".gitignore").read_bytes()

    done = cli("rollback", "--target", str(project))

    assert done.returncode == 0, done.stderr
    assert list(project.glob(".gitignore.praxis-rollback-*")) == []  # not taken for a user edit
    assert (project / ".gitignore").read_bytes() == gitignore_before
    assert upgrade_state(praxis, skip=("venv",)) == before


def test_the_temp_files_of_named_paths_go_and_nothing_else_in_their_folders(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "standards"
    folder.mkdir()
    names = ["a.md", "b.v2.md", "c.md"]
    for name in names:
        (folder / name).write_text(name)
    left_by_kill = [folder / ".a.md.abcd1234.tmp", folder / ".b.v2.md.Zz9_0000.tmp"]
    not_ours = [
        folder / ".other.md.abcd1234.tmp",  # a temp file of a path not named
        folder / ".a.md.abc.tmp",  # not the shape of ours
        folder / "a.md.abcd1234.tmp",  # not hidden
    ]
    for path in left_by_kill + not_ours:
        path.write_text("half")
    gone = litter.drop_temp_files_of([folder / "a.md", folder / "b.v2.md", tmp_path / "x.md"])
    assert sorted(gone) == sorted(left_by_kill)
    assert all(p.exists() for p in not_ours) and all((folder / n).exists() for n in names)
