"""The recorded baseline and the content-addressed blob cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from praxis_upgrade.content import baseline as bl
from praxis_upgrade.errors import BaselineError
from praxis_upgrade.store import Store


def _record() -> bl.Baseline:
    return bl.Baseline(
        version="v1.4.0",
        commit="a" * 40,
        source_path="/src",
        installed_at="2025-10-14T12:00:00+00:00",
        adopted_from="v1.4.0 (aaaaaaaaaa)",
        files={
            "standards/universal/a.md": bl.FileRecord("1" * 64, "2" * 40, 0o644, 10, 123),
            "scripts/x.sh": bl.FileRecord("3" * 64, "4" * 40, 0o755, 5, 456, "5" * 64),
            "workflows/w/gone.md": bl.FileRecord("6" * 64, "7" * 40, 0o644),
        },
        recorded_ns=789,
    )


def test_no_baseline_loads_as_none(tmp_path: Path) -> None:
    assert bl.load(tmp_path) is None


def test_baseline_round_trips_through_disk(tmp_path: Path) -> None:
    record = _record()
    bl.save(tmp_path, record)
    assert bl.load(tmp_path) == record
    assert bl.baseline_path(tmp_path) == tmp_path / ".praxis-upgrade" / "baseline.json"


def test_modified_and_missing_come_from_the_recorded_local_state() -> None:
    record = _record()
    assert bl.modified(record) == ["scripts/x.sh"]
    assert bl.missing(record) == ["workflows/w/gone.md"]


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": "x"}', '{"format": 99}'])
def test_a_corrupt_baseline_names_the_readopt_command(tmp_path: Path, content: str) -> None:
    path = bl.baseline_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(BaselineError) as info:
        bl.load(tmp_path)
    assert "praxis-upgrade adopt" in (info.value.hint or "")


def test_blob_cache_returns_what_was_stored(tmp_path: Path) -> None:
    data = b"\x00binary and text\n" * 100
    sha = bl.store_blob(tmp_path, data)
    assert bl.load_blob(tmp_path, sha) == data
    stored = tmp_path / ".cache" / "praxis-upgrade" / "blobs" / sha[:2] / sha
    assert stored.exists() and stored.stat().st_size < len(data)  # compressed
    assert bl.load_blob(tmp_path, "0" * 64) is None


def test_a_damaged_cached_blob_is_not_returned(tmp_path: Path) -> None:
    sha = bl.store_blob(tmp_path, b"hello\n")
    path = tmp_path / ".cache" / "praxis-upgrade" / "blobs" / sha[:2] / sha
    import zlib

    path.write_bytes(zlib.compress(b"tampered\n"))
    assert bl.load_blob(tmp_path, sha) is None


def test_installed_version_prefers_the_baseline_then_version_txt(tmp_path: Path) -> None:
    from praxis_upgrade.content.versioning import installed_version

    assert installed_version(tmp_path) is None
    (tmp_path / "VERSION.txt").write_text(
        "Repository: praxis-os\nLast Updated: 2025-10-20\nCurrent Version: v1.0.0\n"
        "version_updated=2025-10-29T10:00:00\ncommit=abc1234\n"
    )
    assert installed_version(tmp_path) == "v1.0.0"
    (tmp_path / "VERSION.txt").write_text("version_installed=1.4.0\nversion_updated=2025-10-29\n")
    assert installed_version(tmp_path) == "1.4.0"
    bl.save(tmp_path, _record())
    assert installed_version(tmp_path) == "v1.4.0"


def test_a_filtered_load_keeps_only_the_records_asked_for(tmp_path: Path) -> None:
    record = _record()
    bl.save(tmp_path, record)
    scripts = bl.load(tmp_path, files=lambda rel: rel.startswith("scripts/"))
    assert scripts is not None and list(scripts.files) == ["scripts/x.sh"]
    assert scripts.files["scripts/x.sh"] == record.files["scripts/x.sh"]
    head = bl.load(tmp_path, files=lambda _rel: False)
    assert head is not None and head.files == {}
    assert head == bl.Baseline(**{**record.__dict__, "files": {}})  # version, commit, ... all there


def test_a_record_read_with_a_filter_is_never_saved_over_the_whole_one(tmp_path: Path) -> None:
    bl.save(tmp_path, _record())
    before = Store(tmp_path).baseline.read_bytes()
    head = bl.load(tmp_path, files=lambda _rel: False)
    assert head is not None
    with pytest.raises(ValueError, match="read with a filter"):
        bl.save(tmp_path, head)
    assert Store(tmp_path).baseline.read_bytes() == before  # every record still there
    whole = bl.Baseline(**{**head.__dict__, "files": dict(head.files)})  # built anew: allowed
    bl.save(tmp_path, whole)


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"version": "x"}', '{"format": 99}', '{"files": [1]}', "{} trailing"],
)
def test_a_filtered_load_of_a_corrupt_baseline_is_refused_as_a_whole_load_is(
    tmp_path: Path, content: str
) -> None:
    path = bl.baseline_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(BaselineError) as info:
        bl.load(tmp_path, files=lambda _rel: True)
    assert "praxis-upgrade adopt" in (info.value.hint or "")
