"""Backups: exactly the listed paths, verified before they count, with clear errors."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from praxis_upgrade.backups import catalog, create
from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.manifest import (
    BACKUPS,
    COMPLETE,
    MANIFEST,
    Backup,
    Manifest,
    verify_backup,
)
from praxis_upgrade.errors import BackupError, PreflightError
from praxis_upgrade.util import durable, fs

FILES = {
    "standards/universal/a.md": (b"# A\n", 0o644),
    "standards/universal/sub/b.md": (b"# B\n" * 50, 0o600),
    "workflows/wf1/phase.md": (b"phase\n", 0o644),
    "mcp_server/server.py": (b"print('server')\n", 0o644),
    "scripts/run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
    "scripts/readonly.txt": (b"read only\n", 0o444),
    "config.json": (b'{"user": true}\n', 0o644),
    "standards/development/mine.md": (b"user notes\n", 0o644),
}
MANAGED = [p for p in FILES if p not in ("config.json", "standards/development/mine.md")]


def make_install(root: Path) -> Path:
    target = root / "project" / ".praxis-os"
    for rel, (data, mode) in FILES.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    os.symlink("a.md", target / "standards/universal/link.md")
    (target / "venv/bin").mkdir(parents=True)
    (target / "venv/bin/python").write_bytes(b"\0" * 4096)
    (target / "workspace").mkdir()
    (target / "workspace/big.bin").write_bytes(b"w" * 8192)
    return target


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return make_install(tmp_path)


def stored_files(made: Backup) -> set[str]:
    base = made.path / "files"
    return {
        p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() or p.is_symlink()
    }


def test_backup_copies_exactly_the_listed_paths_with_modes_and_checksums(target: Path) -> None:
    made = create_backup(
        target, [*MANAGED, "workflows/new_wf/new.md"], meta={"session": "s1", "from_version": "1.0"}
    )

    assert made.complete and not made.good
    assert stored_files(made) == set(MANAGED)
    manifest = made.manifest()
    for rel in MANAGED:
        data, mode = FILES[rel]
        entry = manifest.files[rel]
        assert (entry.sha256, entry.mode, entry.size) == (fs.sha256_bytes(data), mode, len(data))
        assert (made.path / entry.stored).read_bytes() == data
        assert (made.path / entry.stored).stat().st_mode & 0o7777 == mode
    assert manifest.absent == ["workflows/new_wf/new.md"]
    assert manifest.meta["target"] == os.path.realpath(target)
    assert (manifest.meta["session"], made.from_version, made.session) == ("s1", "1.0", "s1")
    assert (made.path / "COMPLETE").is_file()
    assert verify_backup(made.path) == []


def test_backup_never_copies_venv_or_workspace(target: Path) -> None:
    made = create_backup(target, MANAGED, meta={})
    assert not any(p.name in ("python", "big.bin") for p in made.path.rglob("*"))
    assert made.size == sum(len(FILES[p][0]) for p in MANAGED)


@pytest.mark.parametrize("runtime_dir", ["venv", "workspace", ".cache", "venv/bin"])
def test_runtime_directories_are_refused_wholesale(target: Path, runtime_dir: str) -> None:
    (target / ".cache").mkdir(exist_ok=True)
    with pytest.raises(BackupError, match="wholesale") as err:
        create_backup(target, [runtime_dir], meta={})
    assert "list individual files" in (err.value.hint or "")


def test_a_listed_directory_is_expanded_into_its_files(target: Path) -> None:
    made = create_backup(target, ["scripts"], meta={})
    assert stored_files(made) == {"scripts/run.sh", "scripts/readonly.txt"}


def test_symlinks_are_stored_as_links_not_followed(target: Path) -> None:
    made = create_backup(target, ["standards/universal/link.md"], meta={})
    stored = made.path / "files/standards/universal/link.md"
    assert stored.is_symlink() and os.readlink(stored) == "a.md"
    assert made.manifest().files["standards/universal/link.md"].kind == "symlink"


@pytest.mark.parametrize(
    "bad", ["../outside.txt", "/etc/passwd", "standards/escape/x.md", "", ".backups/x"]
)
def test_paths_leaving_the_install_are_refused(target: Path, tmp_path: Path, bad: str) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", target / "standards/escape")  # a folder link on the way
    with pytest.raises(BackupError, match="refusing"):
        create_backup(target, ["config.json", bad], meta={})
    assert [b for b in catalog.list_backups(target)] == []


def test_a_users_link_to_a_file_outside_is_stored_as_a_link_and_never_read(
    target: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", target / "standards/escape.md")
    made = create_backup(target, ["standards/escape.md"], meta={})
    stored = made.path / "files/standards/escape.md"
    assert stored.is_symlink() and os.readlink(stored) == str(tmp_path / "outside.txt")
    assert verify_backup(made.path) == []


def test_files_outside_the_install_are_stored_with_an_index(target: Path) -> None:
    project = target.parent
    (project / ".gitignore").write_text("node_modules/\n")
    made = create_backup(
        target, ["config.json"], outside=[project / ".gitignore", project / ".mcp.json"], meta={}
    )
    manifest = made.manifest()
    entry = manifest.outside[str(project / ".gitignore")]
    assert (made.path / entry.stored).read_text() == "node_modules/\n"
    assert entry.stored.startswith("outside/")
    assert fs.read_json(made.path / "outside/INDEX.json") == {
        entry.stored: str(project / ".gitignore")
    }
    assert manifest.outside_absent == [str(project / ".mcp.json")]


def test_backups_made_in_the_same_second_get_suffixes(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = dt.datetime(2026, 1, 31, 12, 0, 0)
    monkeypatch.setattr(create, "_local_now", lambda: frozen)
    ids = [create_backup(target, ["config.json"], meta={}).id for _ in range(3)]
    assert ids == ["2026-01-31-120000", "2026-01-31-120000-2", "2026-01-31-120000-3"]
    assert [b.id for b in catalog.list_backups(target)] == ids[::-1]


def test_concurrent_backups_never_share_a_folder(target: Path) -> None:
    made: list[Backup] = []
    threads = [
        threading.Thread(target=lambda: made.append(create_backup(target, MANAGED, meta={})))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({b.id for b in made}) == 6
    assert all(verify_backup(b.path) == [] for b in made)


def test_backups_folder_is_gitignored(target: Path) -> None:
    create_backup(target, ["config.json"], meta={})
    assert (target / ".backups/.gitignore").read_text().splitlines()[-1] == "*"


def test_verify_names_tampered_and_missing_files(target: Path) -> None:
    made = create_backup(target, MANAGED, meta={})
    (made.path / "files/scripts/run.sh").write_bytes(b"#!/bin/sh\nrm -rf /\n")
    (made.path / "files/workflows/wf1/phase.md").unlink()
    problems = verify_backup(made.path)
    assert any(p.startswith("scripts/run.sh: tampered") for p in problems)
    assert any(p.startswith("workflows/wf1/phase.md: missing") for p in problems)
    assert len(problems) == 2


def test_verify_detects_an_edited_manifest(target: Path) -> None:
    made = create_backup(target, ["config.json"], meta={})
    data = fs.read_json(made.path / "MANIFEST.json")
    data["meta"]["target"] = "/elsewhere"
    fs.atomic_write_json(made.path / "MANIFEST.json", data)
    assert any("MANIFEST.json: tampered" in p for p in verify_backup(made.path))


def test_verify_reports_an_incomplete_backup(target: Path) -> None:
    made = create_backup(target, ["config.json"], meta={})
    (made.path / "COMPLETE").unlink()
    assert any(p.startswith("incomplete") for p in verify_backup(made.path))


def test_a_failure_midway_leaves_no_partial_backup(target: Path) -> None:
    os.mkfifo(target / "scripts/zz_fifo")
    with pytest.raises(BackupError, match="not a regular file"):
        create_backup(target, [*MANAGED, "scripts/zz_fifo"], meta={})
    assert [p.name for p in (target / BACKUPS).iterdir()] == [".gitignore"]


def test_backups_folder_that_is_a_file_gives_a_clear_error(target: Path) -> None:
    (target / BACKUPS).write_text("not a folder")
    with pytest.raises(BackupError, match="cannot create a backup folder") as err:
        create_backup(target, ["config.json"], meta={})
    assert "writable directory" in (err.value.hint or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_backups_folder_gives_a_clear_error(target: Path) -> None:
    (target / BACKUPS).mkdir()
    (target / BACKUPS).chmod(0o500)
    try:
        with pytest.raises(BackupError, match="cannot create a backup folder"):
            create_backup(target, ["config.json"], meta={})
    finally:
        (target / BACKUPS).chmod(0o700)


def test_backup_and_manifest_round_trip_through_json(target: Path) -> None:
    made = create_backup(target, MANAGED, meta={"to_version": "2.0"})
    assert Backup.from_json(made.to_json()) == made
    assert Manifest.from_json(made.manifest().to_json()) == made.manifest()


def test_space_needed_counts_listed_paths_and_new_bytes_only(target: Path) -> None:
    listed = sum(len(FILES[p][0]) for p in MANAGED)
    needed = catalog.space_needed(target, MANAGED, write_bytes=1000)
    assert listed + 1000 <= needed < listed + 1000 + 300 * len(MANAGED)


def test_check_space_names_both_numbers_and_the_folder(target: Path) -> None:
    with pytest.raises(PreflightError) as err:
        catalog.check_space(target, 50 * 2**20, free_bytes=lambda _: 3 * 2**20)
    message = str(err.value)
    assert str(target) in message
    assert "56.0 MiB" in message and "3.0 MiB" in message  # 50 MiB + 10% + 1 MiB; free
    assert err.value.problems == [message]
    assert "backups prune" in (err.value.hint or "")


def test_check_space_passes_with_enough_room_and_on_a_missing_folder(tmp_path: Path) -> None:
    catalog.check_space(tmp_path / "not" / "yet", 1000)
    catalog.check_space(tmp_path, 10 * 2**20, free_bytes=lambda _: 12 * 2**20)


def test_real_free_space_check_refuses_more_than_the_disk_holds(tmp_path: Path) -> None:
    with pytest.raises(PreflightError, match="not enough disk space"):
        catalog.check_space(tmp_path, shutil.disk_usage(tmp_path).total * 2)


def test_progress_reports_each_stored_path(target: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    create_backup(
        target,
        MANAGED,
        outside=[target.parent / ".gitignore"],
        meta={},
        progress=lambda *a: seen.append(a),
    )
    assert [s[0] for s in seen] == list(range(1, len(MANAGED) + 2))
    assert seen[-1] == (len(MANAGED) + 1, len(MANAGED) + 1, str(target.parent / ".gitignore"))


def test_a_backup_killed_midway_is_never_used_and_gets_pruned(target: Path, tmp_path: Path) -> None:
    earlier = create_backup(target, ["config.json"], meta={})
    rels = [f"standards/universal/many/f{i}.md" for i in range(400)]
    for rel in rels:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(os.urandom(1024))
    started = tmp_path / "started"
    script = f"""
import time
from pathlib import Path
from praxis_upgrade.backups.create import create_backup
def progress(done, total, path):
    if done == 20:
        Path({str(started)!r}).write_text("20")
    if done > 20:
        time.sleep(0.01)
create_backup(Path({str(target)!r}), {rels!r}, meta={{"session": "killed"}}, progress=progress)
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert started.exists(), "backup subprocess never reported progress"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL

    partial = catalog.list_backups(target)[0]
    assert not partial.complete and partial.session == "killed"
    assert any(p.startswith("incomplete") for p in verify_backup(partial.path))
    with pytest.raises(BackupError, match="incomplete"):
        catalog.find_backup(target, partial.id)
    assert catalog.latest_backup(target).id == earlier.id
    assert catalog.prune_backups(target, 3) == [partial.id]


def _count_syncs(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[Path]]:
    """Count every fsync and syncfs from here on (the real ones still run)."""
    fsyncs: list[int] = []
    syncs: list[Path] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(durable, "system_syncfs", lambda: syncs.append)
    monkeypatch.setattr(durable, "syncfs_reaches", lambda _root: True)
    return fsyncs, syncs


def test_a_backups_syncs_do_not_grow_with_its_files(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_backup(target, MANAGED[:1], meta={})  # the first writes the backups' .gitignore
    fsyncs, syncs = _count_syncs(monkeypatch)
    create_backup(target, MANAGED[:1], meta={})
    few = (len(fsyncs), len(syncs))
    fsyncs.clear(), syncs.clear()
    create_backup(target, MANAGED, meta={})
    assert (len(fsyncs), len(syncs)) == few
    assert len(syncs) == 1  # the copies and the manifest, before COMPLETE is written


def test_the_copies_are_durable_before_complete_is_written(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def syncfs(_anchor: Path) -> None:
        folder = next(p for p in (target / BACKUPS).iterdir() if p.is_dir())
        seen.append(sorted(p.name for p in folder.iterdir()))

    monkeypatch.setattr(durable, "system_syncfs", lambda: syncfs)

    monkeypatch.setattr(durable, "syncfs_reaches", lambda _root: True)
    made = create_backup(target, MANAGED, meta={})
    assert len(seen) == 1 and MANIFEST in seen[0] and COMPLETE not in seen[0]
    assert made.complete and verify_backup(made.path) == []


def test_a_file_written_while_it_is_copied_fails_the_backup_and_leaves_none(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = target / MANAGED[0]
    real_chunks = fs.file_chunks

    def written_meanwhile(path: Path, size: int = fs.CHUNK):  # type: ignore[no-untyped-def]
        for n, chunk in enumerate(real_chunks(path, size)):
            yield chunk
            if n == 0 and path == victim:
                with victim.open("ab") as f:  # another program appends while we copy
                    f.write(b"appended meanwhile\n")

    monkeypatch.setattr(create.fs, "file_chunks", written_meanwhile)
    with pytest.raises(BackupError, match="changed while it was copied"):
        create_backup(target, MANAGED, meta={})
    assert list(catalog.list_backups(target)) == []
