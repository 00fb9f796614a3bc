"""Restore: byte-identical, removes only what the upgrade added, keeps user work, re-runnable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from praxis_upgrade.backups import restore
from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.manifest import Backup
from praxis_upgrade.backups.restore import RestoreReport, restore_backup
from praxis_upgrade.errors import BackupError
from praxis_upgrade.util import durable, fs

FILES = {
    "standards/universal/a.md": (b"# A\n", 0o644),
    "standards/universal/sub/b.md": (b"# B\n" * 50, 0o600),
    "workflows/wf1/phase.md": (b"phase\n", 0o644),
    "mcp_server/server.py": (b"print('server')\n", 0o644),
    "scripts/run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
    "scripts/readonly.txt": (b"read only\n", 0o444),
}
ADDED = [
    "workflows/new_wf/phase.md",
    "workflows/new_wf/deep/more.md",
    "scripts/new.py",
    "standards/universal/c.md",
]


def snapshot(root: Path) -> dict[str, tuple[str, ...]]:
    """Every path under `root` with its kind, bytes and mode (links by their text)."""
    out: dict[str, tuple[str, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".backups"):
            continue
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir",)
        else:
            out[rel] = ("file", path.read_bytes().hex(), oct(path.stat().st_mode & 0o7777))
    return out


def make_install(root: Path) -> Path:
    target = root / "project" / ".praxis-os"
    for rel, (data, mode) in FILES.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    os.symlink("a.md", target / "standards/universal/link.md")
    (target / "workflows/empty_user_dir").mkdir()
    (target / "config.json").write_text("{}\n")
    return target


def upgrade(target: Path) -> dict[str, str]:
    """A fake upgrade: edits, chmods, deletes, re-links and adds files; returns what it wrote."""
    written = {}
    for rel in ("standards/universal/a.md", "mcp_server/server.py"):
        fs.atomic_write_bytes(target / rel, b"upgraded " + rel.encode())
        written[rel] = fs.sha256_file(target / rel)
    (target / "scripts/run.sh").chmod(0o644)
    (target / "workflows/wf1/phase.md").unlink()
    (target / "standards/universal/link.md").unlink()
    os.symlink("sub/b.md", target / "standards/universal/link.md")
    for rel in ADDED:
        fs.atomic_write_bytes(target / rel, f"new {rel}\n".encode())
        written[rel] = fs.sha256_file(target / rel)
    return written


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return make_install(tmp_path)


def backup_of(target: Path) -> Backup:
    paths = [*FILES, "standards/universal/link.md", *ADDED]
    return create_backup(target, paths, meta={"session": "s1"})


def test_restore_is_byte_identical_including_modes_links_and_added_files(target: Path) -> None:
    before = snapshot(target)
    made = backup_of(target)
    written = upgrade(target)

    report = restore_backup(target, made, added_shas=written)

    assert snapshot(target) == before
    assert report.verified and report.unrestorable == []
    assert sorted(report.removed) == sorted(ADDED)
    assert set(report.restored) == {
        "standards/universal/a.md",
        "mcp_server/server.py",
        "scripts/run.sh",
        "workflows/wf1/phase.md",
        "standards/universal/link.md",
    }
    assert not (target / "workflows/new_wf").exists()  # directories the upgrade made are gone
    assert (target / "workflows/empty_user_dir").is_dir()  # an empty dir that was there stays


def test_added_file_edited_by_the_user_is_kept_and_reported(target: Path) -> None:
    made = backup_of(target)
    written = upgrade(target)
    (target / "scripts/new.py").write_text("my own edits\n")

    report = restore_backup(target, made, added_shas=written)

    assert (target / "scripts/new.py").read_text() == "my own edits\n"
    assert report.kept_user_files == ["scripts/new.py"]
    assert report.verified


def test_without_added_shas_added_files_are_kept_and_reported(target: Path) -> None:
    made = backup_of(target)
    upgrade(target)
    report = restore_backup(target, made)
    assert sorted(report.kept_user_files) == sorted(ADDED)
    assert all((target / rel).is_file() for rel in ADDED)
    assert (target / "standards/universal/a.md").read_bytes() == b"# A\n"


def test_user_files_created_after_the_backup_survive(target: Path) -> None:
    made = backup_of(target)
    written = upgrade(target)
    (target / "standards/development").mkdir(parents=True)
    (target / "standards/development/notes.md").write_text("written during the upgrade\n")
    (target / "workflows/new_wf/user.md").write_text("mine, beside an added file\n")

    report = restore_backup(target, made, added_shas=written)

    assert (target / "standards/development/notes.md").read_text() == "written during the upgrade\n"
    assert (target / "workflows/new_wf/user.md").read_text() == "mine, beside an added file\n"
    assert not (target / "workflows/new_wf/phase.md").exists()
    assert report.verified


def test_user_edit_to_a_restored_file_is_saved_beside_it(target: Path) -> None:
    made = backup_of(target)
    written = upgrade(target)
    (target / "mcp_server/server.py").write_text("edited after the upgrade wrote it\n")

    report = restore_backup(target, made, added_shas=written)

    aside = target / f"mcp_server/server.py.praxis-rollback-{made.id}"
    assert aside.read_text() == "edited after the upgrade wrote it\n"
    assert report.displaced == [str(aside)]
    assert (target / "mcp_server/server.py").read_bytes() == FILES["mcp_server/server.py"][0]


def test_restore_twice_is_idempotent(target: Path) -> None:
    before = snapshot(target)
    made = backup_of(target)
    written = upgrade(target)
    restore_backup(target, made, added_shas=written)

    again = restore_backup(target, made, added_shas=written)

    assert again.verified and again.restored == [] and again.removed == []
    assert len(again.unchanged) == len(FILES) + 1
    assert snapshot(target) == before


def test_restore_killed_midway_then_run_again_ends_verified(tmp_path: Path) -> None:
    target = tmp_path / "project" / ".praxis-os"
    rels = [f"standards/universal/d{i % 7}/f{i}.md" for i in range(600)]
    for rel in rels:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(os.urandom(2048))
    before = snapshot(target)
    made = create_backup(target, [*rels, "workflows/added.md"], meta={})
    for rel in rels:
        (target / rel).write_bytes(b"upgraded")
    (target / "workflows").mkdir()
    (target / "workflows/added.md").write_text("added\n")
    started = tmp_path / "started"
    script = f"""
import sys, time
from pathlib import Path
from praxis_upgrade.backups.catalog import find_backup
from praxis_upgrade.backups.restore import restore_backup
def progress(done, total, path):
    if done == 50:
        Path({str(started)!r}).write_text(str(done))
    if done > 50:
        time.sleep(0.005)
target = Path({str(target)!r})
restore_backup(target, find_backup(target, {made.id!r}), progress=progress)
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    assert started.exists(), "restore subprocess never reported progress"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    restored_so_far = sum((target / rel).read_bytes() != b"upgraded" for rel in rels)
    assert 0 < restored_so_far < len(rels)  # really killed midway
    # a write killed between temp file and rename leaves a temp file; the rerun clears it
    (target / rels[-1]).with_name(f".{Path(rels[-1]).name}.ab12cd34.tmp").write_bytes(b"half")

    written = {rel: fs.sha256_bytes(b"upgraded") for rel in rels}
    report = restore_backup(
        target, made, added_shas={**written, "workflows/added.md": fs.sha256_bytes(b"added\n")}
    )

    assert report.verified
    assert len(report.restored) == len(rels) - restored_so_far
    assert snapshot(target) == before


def test_a_file_the_upgrade_did_not_write_but_someone_changed_is_kept_aside(target: Path) -> None:
    rel = next(p.relative_to(target).as_posix() for p in sorted(target.rglob("*.md")))
    made = create_backup(target, [rel], meta={})
    (target / rel).write_bytes(b"the user's edit after the backup\n")
    report = restore_backup(target, made, added_shas={})
    aside = (target / rel).with_name(f"{Path(rel).name}.praxis-rollback-{made.id}")
    assert aside.read_bytes() == b"the user's edit after the backup\n"
    assert str(aside) in report.displaced


def test_tampered_backup_is_refused_naming_the_file(target: Path) -> None:
    made = backup_of(target)
    upgrade(target)
    (made.path / "files/scripts/run.sh").write_bytes(b"#!/bin/sh\necho evil\n")
    with pytest.raises(BackupError, match="scripts/run.sh: tampered") as err:
        restore_backup(target, made)
    assert "--force" in (err.value.hint or "")
    assert (
        target / "standards/universal/a.md"
    ).read_bytes() == b"upgraded standards/universal/a.md"


def test_forced_restore_skips_damaged_copies_and_says_how_to_finish(target: Path) -> None:
    made = backup_of(target)
    upgrade(target)
    (made.path / "files/standards/universal/a.md").write_bytes(b"tampered\n")

    report = restore_backup(target, made, force=True)

    assert not report.verified
    assert len(report.unrestorable) == 1 and report.unrestorable[0].startswith(
        "standards/universal/a.md:"
    )
    assert "cp -p" in report.unrestorable[0]
    assert (
        target / "standards/universal/a.md"
    ).read_bytes() == b"upgraded standards/universal/a.md"
    assert (target / "mcp_server/server.py").read_bytes() == FILES["mcp_server/server.py"][0]


def test_backup_of_another_install_is_refused(target: Path, tmp_path: Path) -> None:
    made = backup_of(target)
    other = make_install(tmp_path / "other")
    with pytest.raises(BackupError, match="was made for"):
        restore_backup(other, made)


def test_files_outside_the_install_are_restored_and_added_ones_removed(target: Path) -> None:
    project = target.parent
    (project / ".gitignore").write_text("node_modules/\n")
    outside = [project / ".gitignore", project / ".cursor/mcp.json"]
    made = create_backup(target, ["config.json"], outside=outside, meta={})
    (project / ".gitignore").write_text("node_modules/\n.praxis-os/venv/\n")
    (project / ".cursor").mkdir()
    (project / ".cursor/mcp.json").write_text('{"mcpServers": {}}\n')

    report = restore_backup(
        target,
        made,
        added_shas={str(project / ".cursor/mcp.json"): fs.sha256_bytes(b'{"mcpServers": {}}\n')},
    )

    assert (project / ".gitignore").read_text() == "node_modules/\n"
    assert not (project / ".cursor").exists()
    assert report.verified


def test_file_replaced_by_a_full_directory_is_reported_with_instructions(target: Path) -> None:
    made = backup_of(target)
    (target / "scripts/run.sh").unlink()
    (target / "scripts/run.sh").mkdir()
    (target / "scripts/run.sh/user.txt").write_text("mine\n")

    report = restore_backup(target, made)

    assert not report.verified
    assert report.unrestorable[0].startswith("scripts/run.sh:")
    assert "to finish by hand: cp -p" in report.unrestorable[0]
    assert (target / "scripts/run.sh/user.txt").read_text() == "mine\n"


def test_file_replaced_by_an_upgrade_directory_comes_back(target: Path) -> None:
    before = snapshot(target)
    made = create_backup(target, ["scripts/run.sh", "scripts/run.sh/inner.py"], meta={})
    (target / "scripts/run.sh").unlink()
    (target / "scripts/run.sh").mkdir()
    (target / "scripts/run.sh/inner.py").write_text("x\n")

    report = restore_backup(
        target, made, added_shas={"scripts/run.sh/inner.py": fs.sha256_bytes(b"x\n")}
    )

    assert report.verified, report.unrestorable
    assert snapshot(target) == before


def test_progress_reports_every_path(target: Path) -> None:
    made = backup_of(target)
    seen: list[tuple[int, int, str]] = []
    restore_backup(
        target, made, progress=lambda done, total, path: seen.append((done, total, path))
    )
    assert [s[0] for s in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][1] == len(FILES) + 1 + len(ADDED)


def test_report_round_trips_through_json() -> None:
    report = RestoreReport(
        restored=["a"], removed=["b"], kept_user_files=["c"], unrestorable=[], verified=True
    )
    assert RestoreReport.from_json(report.to_json()) == report


def test_forced_restore_never_reads_outside_the_backup_when_the_manifest_is_edited(
    target: Path, tmp_path: Path
) -> None:
    made = backup_of(target)
    upgrade(target)
    (tmp_path / "planted.md").write_bytes(
        b"# A\n"
    )  # same bytes as the real file, outside the backup
    data = fs.read_json(made.path / "MANIFEST.json")
    data["files"]["standards/universal/a.md"]["stored"] = "../../../../planted.md"
    fs.atomic_write_json(made.path / "MANIFEST.json", data)

    report = restore.restore_backup(target, made, force=True)

    assert [u.split(":")[0] for u in report.unrestorable] == ["standards/universal/a.md"]
    assert (
        target / "standards/universal/a.md"
    ).read_bytes() == b"upgraded standards/universal/a.md"


def test_folders_the_upgrade_added_go_even_when_bytecode_was_left_in_them(target: Path) -> None:
    added = [
        "mcp_server/validation/__init__.py",
        "mcp_server/validation/checks.py",
        "mcp_server/validation/rules/__init__.py",
        "mcp_server/tools/extra.py",
    ]
    made = create_backup(target, [*FILES, *added], meta={"session": "s1"})
    written = {}
    for rel in added:
        fs.atomic_write_bytes(target / rel, b"VALUE = 1\n")
        written[rel] = fs.sha256_file(target / rel)
    # the new server ran and imported the new packages: Python cached their bytecode
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run(
        [sys.executable, "-c", "import mcp_server.validation.checks, mcp_server.validation.rules"],
        cwd=target,
        env=env,
        check=True,
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", "mcp_server/tools"], cwd=target)
    assert list((target / "mcp_server/validation/__pycache__").glob("checks.*.pyc"))
    assert list((target / "mcp_server/validation/rules/__pycache__").glob("*.pyc"))
    stale = target / "mcp_server/validation/__pycache__/gone.cpython-311.pyc"  # source long gone
    stale.write_bytes(b"\0" * 16)
    (target / "mcp_server/tools/notes.md").write_text("mine\n")  # the user's, in a new folder

    report = restore_backup(target, made, added_shas=written)

    assert report.verified and sorted(report.removed) == sorted(added)
    assert not (target / "mcp_server/validation").exists()  # no empty namespace package left
    assert (target / "mcp_server/tools/notes.md").read_text() == "mine\n"
    assert not (target / "mcp_server/tools/extra.py").exists()
    assert (target / "mcp_server/server.py").is_file()


def test_bytecode_beside_files_of_the_user_is_left_alone(target: Path) -> None:
    made = create_backup(target, [*FILES, "mcp_server/pkg/new.py"], meta={"session": "s1"})
    fs.atomic_write_bytes(target / "mcp_server/pkg/new.py", b"VALUE = 1\n")
    written = {"mcp_server/pkg/new.py": fs.sha256_file(target / "mcp_server/pkg/new.py")}
    cache = target / "mcp_server/pkg/__pycache__"
    cache.mkdir()
    (cache / "new.cpython-311.pyc").write_bytes(b"\0" * 16)
    (cache / "notes.txt").write_text("not bytecode\n")  # a __pycache__ holding more than caches

    report = restore_backup(target, made, added_shas=written)

    assert report.removed == ["mcp_server/pkg/new.py"]
    assert (cache / "notes.txt").read_text() == "not bytecode\n"


def test_paths_to_keep_are_left_as_they_are_whatever_the_backup_holds(target: Path) -> None:
    settings = target / ".praxis-upgrade/settings.json"
    settings.parent.mkdir()
    settings.write_text('{"source": "/old/clone"}\n')
    made = create_backup(  # as made by a version of this tool that backed up its settings
        target, [*FILES, ".praxis-upgrade/settings.json"], meta={"session": "s1"}
    )
    written = upgrade(target)
    settings.write_text('{"source": "/new/clone"}\n')

    report = restore_backup(
        target, made, added_shas=written, keep=[".praxis-upgrade/settings.json"]
    )

    assert report.verified
    assert settings.read_text() == '{"source": "/new/clone"}\n'
    assert (target / "standards/universal/a.md").read_bytes() == b"# A\n"


def test_a_restore_is_made_durable_by_one_sync_after_its_last_file(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(target)
    made = backup_of(target)
    written = upgrade(target)
    fsyncs: list[int] = []
    synced_when: list[dict[str, str]] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(durable, "syncfs_reaches", lambda _root: True)
    monkeypatch.setattr(
        durable, "system_syncfs", lambda: lambda _anchor: synced_when.append(snapshot(target))
    )

    report = restore_backup(target, made, added_shas=written)

    assert report.verified and snapshot(target) == before
    assert fsyncs == []  # no file or folder synced one by one
    assert synced_when == [before]  # one sync, once every file was back
