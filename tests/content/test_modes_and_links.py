"""Your exec bits and your symlinks over managed files survive an upgrade that changes the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kits.sandboxkit import Sandbox
from praxis_upgrade.engine import run as engine


def planned(sandbox: Sandbox, project: Path) -> list[dict]:
    session = engine.run_upgrade(project, source_path=sandbox.source.path, dry_run=True)
    return session.results["plan"]["plan"]["entries"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_users_exec_bit_change_survives_an_upstream_content_change(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", edits=False, venv=True)
    changed = [e for e in planned(sandbox, target.project) if e["klass"] == "upstream-changed"]
    doc = next(e for e in changed if e["path"].endswith(".md") and not e["mode"] & 0o111)
    plain = next(e for e in changed if e["path"].endswith(".md") and e is not doc)
    script = next((e for e in changed if e["mode"] & 0o111), None)
    plain_mode = (target.praxis / plain["path"]).stat().st_mode & 0o777
    (target.praxis / doc["path"]).chmod(0o755)
    if script is not None:
        (target.praxis / script["path"]).chmod(0o644)

    engine.run_upgrade(target.project, source_path=sandbox.source.path)

    assert sha(target.praxis / doc["path"]) == doc["upstream_sha"]  # upstream's text ...
    assert (target.praxis / doc["path"]).stat().st_mode & 0o777 == 0o755  # ... your mode
    assert (target.praxis / plain["path"]).stat().st_mode & 0o777 == plain_mode
    if script is not None:
        assert sha(target.praxis / script["path"]) == script["upstream_sha"]
        assert (target.praxis / script["path"]).stat().st_mode & 0o777 == 0o644


def test_a_users_link_over_a_managed_file_is_kept_never_followed_upstream_beside_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", edits=False, venv=True)
    entries = planned(sandbox, target.project)
    changed = next(e for e in entries if e["klass"] == "upstream-changed")
    same = next(e for e in entries if e["klass"] == "unchanged")
    mine = tmp_path / "my-notes.md"  # outside the install: must never be read or written
    mine.write_text("my own version, kept elsewhere\n")
    for e in (changed, same):
        (target.praxis / e["path"]).unlink()
        (target.praxis / e["path"]).symlink_to(mine)

    plan = {e["path"]: e for e in planned(sandbox, target.project)}
    assert plan[same["path"]]["klass"] == "local-changed"  # not "unreadable"
    assert plan[changed["path"]]["klass"] == "conflict"
    session = engine.run_upgrade(
        target.project, source_path=sandbox.source.path, conflicts="take-upstream"
    )

    assert session.status == "completed"
    for e in (changed, same):
        link = target.praxis / e["path"]
        assert link.is_symlink() and os.readlink(link) == str(mine)
    assert mine.read_text() == "my own version, kept elsewhere\n"
    side = target.praxis / (changed["path"] + ".praxis-upstream")
    assert sha(side) == changed["upstream_sha"]

    engine.rollback_upgrade(target.project)
    assert not side.exists()
    for e in (changed, same):
        link = target.praxis / e["path"]
        assert link.is_symlink() and os.readlink(link) == str(mine)
    assert mine.read_text() == "my own version, kept elsewhere\n"
