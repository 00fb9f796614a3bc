"""The baseline is written piece by piece, in exactly the bytes `fs.atomic_write_json` wrote."""

from __future__ import annotations

import json
from pathlib import Path

from praxis_upgrade.content import baseline as bl


def _old_text(record: bl.Baseline) -> str:
    return json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n"


def test_pieces_match_indented_json() -> None:
    files = {
        "b/é.md": bl.FileRecord("1" * 64, "2" * 40, 0o644, 10, 123),
        'c"\n': bl.FileRecord("5" * 64, "6" * 40, 0o755, 5, 2**70, "7" * 64),
        **{f"p/{i}": bl.FileRecord(f"{i:064x}", f"{i:040x}", 0o644) for i in range(3000)},
    }
    record = bl.Baseline(
        "v1",
        "c" * 40,
        "/src",
        "now",
        adopted_from="v1 (c)",
        adoption={"matched": 1, "undecided": ["a"], "empty": {}},
        files=files,
        recorded_ns=1,
        environment={"fp": [1, {"a": None}], "x": 1.5, "t": True},
    )
    assert "".join(record.json_pieces()) == _old_text(record)
    empty = bl.Baseline("v1", "c" * 40, "/src", "now")
    assert "".join(empty.json_pieces()) == _old_text(empty)


def test_saved_and_loaded_back(tmp_path: Path) -> None:
    record = bl.Baseline(
        "v1", "c" * 40, "/src", "now", files={"a": bl.FileRecord("1" * 64, "2" * 40, 0o644)}
    )
    bl.save(tmp_path, record)
    assert bl.baseline_path(tmp_path).read_text(encoding="utf-8") == _old_text(record)
    loaded = bl.load(tmp_path)
    assert loaded is not None and loaded.files == record.files
