"""Streamed atomic writes: hashed on the way, checked before they replace anything."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from praxis_upgrade.util import fs


def test_a_streamed_write_returns_the_sha256_of_what_it_wrote(tmp_path: Path) -> None:
    chunks = [b"first\n", b"", b"second\n"]

    sha = fs.atomic_write_chunks(tmp_path / "out", iter(chunks), mode=0o640)

    assert (tmp_path / "out").read_bytes() == b"first\nsecond\n"
    assert sha == hashlib.sha256(b"first\nsecond\n").hexdigest()
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o640


def test_a_streamed_write_whose_check_fails_leaves_the_old_file_and_no_temp(
    tmp_path: Path,
) -> None:
    (tmp_path / "out").write_bytes(b"old\n")

    def refuse(sha: str) -> None:
        raise ValueError(f"not the expected content: {sha[:8]}")

    with pytest.raises(ValueError, match="not the expected content"):
        fs.atomic_write_chunks(tmp_path / "out", [b"new\n"], check=refuse)

    assert (tmp_path / "out").read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_stream_that_breaks_midway_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    (tmp_path / "out").write_bytes(b"old\n")

    def broken() -> Iterator[bytes]:
        yield b"half of it"
        raise OSError("the source went away")

    with pytest.raises(OSError, match="went away"):
        fs.atomic_write_chunks(tmp_path / "out", broken())

    assert (tmp_path / "out").read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_file_chunks_and_read_prefix_read_no_more_than_asked(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcdefghij")

    assert list(fs.file_chunks(tmp_path / "f", 4)) == [b"abcd", b"efgh", b"ij"]
    assert fs.read_prefix(tmp_path / "f", 3) == b"abc"
    assert fs.read_prefix(tmp_path / "f", 100) == b"abcdefghij"
