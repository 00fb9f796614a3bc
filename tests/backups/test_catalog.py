"""Retention: list and find backups, keep the newest and the last good one, clear leftovers."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from praxis_upgrade.backups import catalog, create
from praxis_upgrade.backups.catalog import (
    find_backup,
    latest_backup,
    list_backups,
    mark_good,
    prune_backups,
)
from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.manifest import Backup, read_manifest, read_manifest_summary
from praxis_upgrade.errors import BackupError
from praxis_upgrade.util import fs


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "project" / ".praxis-os"
    (target / "standards/universal").mkdir(parents=True)
    (target / "standards/universal/a.md").write_text("# A\n")
    # a clock that moves one minute per backup, so names and order are predictable
    ticks = iter(dt.datetime(2026, 1, 1, 12, 0) + dt.timedelta(minutes=i) for i in range(1000))
    monkeypatch.setattr(create, "_local_now", lambda: next(ticks))
    return target


def make(target: Path, *, session: str | None = None) -> Backup:
    return create_backup(
        target, ["standards/universal/a.md"], meta={"session": session, "from_version": "1.0"}
    )


def make_partial(target: Path, *, session: str | None = None, hours_old: float = 0) -> Backup:
    """A backup whose process died before COMPLETE was written."""
    made = make(target, session=session)
    (made.path / "COMPLETE").unlink()
    (made.path / "MANIFEST.json").unlink()
    started = fs.read_json(made.path / "STARTED.json")
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_old)
    fs.atomic_write_json(made.path / "STARTED.json", {**started, "created_at": when.isoformat()})
    return made


def ids(target: Path) -> list[str]:
    return [b.id for b in list_backups(target)]


def test_list_is_newest_first_with_complete_flag_size_and_version(target: Path) -> None:
    first, second = make(target), make(target)
    partial = make_partial(target)
    listed = list_backups(target)
    assert [b.id for b in listed] == [partial.id, second.id, first.id]
    assert [b.complete for b in listed] == [False, True, True]
    assert listed[1].size == 4 and listed[1].from_version == "1.0" and listed[1].created_at


def test_list_on_an_install_without_backups_is_empty(target: Path) -> None:
    assert list_backups(target) == []


def test_find_returns_a_complete_backup(target: Path) -> None:
    made = make(target)
    assert find_backup(target, made.id) == made
    assert catalog.find_backup(target, made.id) == made


def test_rollback_with_no_backup_says_so(target: Path) -> None:
    with pytest.raises(BackupError, match="no backup") as err:
        find_backup(target, "2026-01-01-120000")
    assert "no complete backups" in (err.value.hint or "")
    with pytest.raises(BackupError, match="no backup of"):
        latest_backup(target)


@pytest.mark.parametrize("bad", ["../../etc", "latest", "2026-01-01-120000/../x", ""])
def test_find_refuses_malformed_ids(target: Path, bad: str) -> None:
    make(target)
    with pytest.raises(BackupError, match="is not a backup id") as err:
        find_backup(target, bad)
    assert "available: 2026-01-01-120000" in (err.value.hint or "")


def test_find_refuses_an_incomplete_backup(target: Path) -> None:
    good = make(target)
    partial = make_partial(target)
    with pytest.raises(BackupError, match="incomplete") as err:
        find_backup(target, partial.id)
    assert good.id in (err.value.hint or "")


def test_find_refuses_a_backup_from_another_install(target: Path, tmp_path: Path) -> None:
    made = make(target)
    copy = tmp_path / "copy" / ".praxis-os"
    shutil.copytree(target, copy, symlinks=True)
    with pytest.raises(BackupError, match="was made for"):
        find_backup(copy, made.id)
    with pytest.raises(BackupError, match="no backup of"):
        latest_backup(copy)


def test_latest_backup_skips_incomplete_ones(target: Path) -> None:
    made = make(target)
    make_partial(target)
    assert latest_backup(target).id == made.id


def test_prune_keeps_the_newest_complete_backups(target: Path) -> None:
    made = [make(target) for _ in range(5)]
    removed = prune_backups(target, 2)
    assert removed == [made[2].id, made[1].id, made[0].id]
    assert ids(target) == [made[4].id, made[3].id]
    assert not any(p.name.startswith(".deleting-") for p in (target / ".backups").iterdir())


def test_partial_backups_never_count_and_stale_ones_are_removed(target: Path) -> None:
    a, b = make(target), make(target)
    old_partial = make_partial(target, session="crashed", hours_old=2)
    fresh_orphan = make_partial(target, session="nobody")
    fresh_running = make_partial(target, session="running")

    removed = prune_backups(target, 2, protect=["running"])

    assert sorted(removed) == sorted([old_partial.id, fresh_orphan.id])
    assert ids(target) == [
        fresh_running.id,
        b.id,
        a.id,
    ]  # both complete ones kept: partials did not count


def test_a_protected_partial_backup_older_than_an_hour_is_removed(target: Path) -> None:
    stale = make_partial(target, session="s1", hours_old=1.5)
    assert prune_backups(target, 3, protect=["s1"]) == [stale.id]


def test_the_last_good_backup_is_never_pruned(target: Path) -> None:
    good = make(target)
    mark_good(good)
    newer = [make(target) for _ in range(3)]  # upgrades that failed or are not finished

    removed = prune_backups(target, 1)

    assert ids(target) == [newer[2].id, good.id]
    assert removed == [newer[1].id, newer[0].id]
    assert find_backup(target, good.id).good


def test_only_the_newest_good_backup_is_protected(target: Path) -> None:
    old_good, new_good = make(target), make(target)
    mark_good(old_good)
    mark_good(new_good)
    latest = make(target)
    assert prune_backups(target, 1) == [old_good.id]
    assert ids(target) == [latest.id, new_good.id]


def test_keep_zero_still_keeps_the_last_good_and_protected_ones(target: Path) -> None:
    good = make(target)
    catalog.mark_good(good)
    session_backup = make(target, session="open-session")
    by_id = make(target)
    doomed = make(target)
    assert catalog.prune_backups(target, 0, protect=["open-session", by_id.id]) == [doomed.id]
    assert ids(target) == [by_id.id, session_backup.id, good.id]


def test_marking_an_incomplete_backup_good_is_refused(target: Path) -> None:
    with pytest.raises(BackupError, match="incomplete"):
        mark_good(make_partial(target))


def test_negative_keep_is_refused(target: Path) -> None:
    with pytest.raises(BackupError, match="cannot keep -1"):
        prune_backups(target, -1)


def test_leftovers_of_an_interrupted_prune_are_cleared(target: Path) -> None:
    made = make(target)
    os.rename(made.path, made.path.with_name(".deleting-" + made.id))
    assert list_backups(target) == []
    prune_backups(target, 3)
    assert [p.name for p in (target / ".backups").iterdir()] == [".gitignore"]


def test_a_finished_backup_with_a_broken_manifest_is_damaged_not_incomplete(target: Path) -> None:
    made = make(target)
    (made.path / "MANIFEST.json").write_text("{not json")
    listed = list_backups(target)[0]
    assert listed.complete and listed.damaged and "unreadable" in listed.damaged
    assert listed.meta["error"] == listed.damaged
    assert listed.target == made.target  # still known (from STARTED.json): it is this install's
    assert find_backup(target, made.id).damaged == listed.damaged  # used, then refused as damaged


@pytest.mark.parametrize(
    "manifest",
    [
        {"files": []},
        {"files": {"a.md": {"kind": "file", "stored": "files/a.md", "mode": "0644"}}},
        {"files": {"a.md": {"kind": "device", "stored": "files/a.md"}}},
        {"absent": "abc"},
        {"keep_dirs": {"x": 1}},
    ],
)
def test_a_manifest_of_the_wrong_shape_is_damaged_never_half_used(
    target: Path, manifest: dict[str, object]
) -> None:
    made = make(target)
    data = {"meta": {}, "files": {}, "absent": [], "outside": {}, "outside_absent": []}
    (made.path / "MANIFEST.json").write_text(json.dumps({**data, **manifest}))
    listed = list_backups(target)[0]
    assert listed.damaged and "damaged" in listed.damaged


def test_only_the_newest_backups_keep_the_venv_they_replaced(target: Path) -> None:
    made = [make(target) for _ in range(3)]
    for backup in made:
        (backup.kept_venv / "bin").mkdir(parents=True)
        (backup.kept_venv / "bin" / "python").write_text("#")

    dropped = catalog.prune_kept_venvs(target, 1)

    assert dropped == [made[1].id, made[0].id]  # newest first, like prune_backups
    assert made[2].kept_venv.is_dir()
    assert not made[1].kept_venv.exists() and not made[0].kept_venv.exists()
    assert all(b.complete for b in list_backups(target))  # the backups themselves stay whole
    assert catalog.prune_kept_venvs(target, 0) == [made[2].id]
    assert not any(p.name.startswith(".deleting") for b in made for p in b.path.iterdir())


def test_a_listed_backup_has_the_size_and_meta_of_its_whole_manifest(target: Path) -> None:
    (target / "standards/universal/b.md").write_text("b" * 5000)
    made = create_backup(
        target,
        ["standards/universal/a.md", "standards/universal/b.md", "standards/universal/gone.md"],
        meta={"session": "s", "from_version": "1.0"},
    )
    manifest = made.manifest()
    assert (
        read_manifest_summary(made.path)
        == (manifest.meta, manifest.size)
        == (
            list_backups(target)[0].meta,
            4 + 5000,
        )
    )


def test_a_manifest_part_given_twice_counts_once_as_a_whole_read_takes_it(target: Path) -> None:
    made = create_backup(target, ["standards/universal/a.md"], meta={"session": "s"})
    text = (made.path / "MANIFEST.json").read_text()
    doubled = text.replace('"files": {', '"files": {"x": {"kind": "file", "stored": "files/x", '
                           '"sha256": "0", "mode": 420, "size": 999}}, "files": {', 1)  # fmt: skip
    (made.path / "MANIFEST.json").write_text(doubled)
    assert read_manifest_summary(made.path)[1] == read_manifest(made.path).size == 4


@pytest.mark.parametrize("missing", ["meta", "files", "absent", "outside", "outside_absent"])
def test_a_manifest_without_one_of_its_parts_is_damaged_when_listed_and_when_read(
    target: Path, missing: str
) -> None:
    made = make(target)
    data = {"meta": {}, "files": {}, "absent": [], "outside": {}, "outside_absent": []}
    del data[missing]
    (made.path / "MANIFEST.json").write_text(json.dumps(data))
    assert list_backups(target)[0].damaged
    with pytest.raises(BackupError, match="damaged"):
        made.manifest()
