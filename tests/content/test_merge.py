"""Three-way merge quality (git merge-file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from praxis_upgrade.content.merge import has_markers, is_binary, merge3

BASE = b"".join(b"line %d\n" % i for i in range(10))


def _edit(data: bytes, line: int, text: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    lines[line] = text
    return b"".join(lines)


def test_non_overlapping_edits_merge_cleanly() -> None:
    local = _edit(BASE, 1, b"local edit\n")
    upstream = _edit(BASE, 8, b"upstream edit\n")
    result = merge3(BASE, local, upstream)
    assert not result.conflicted
    assert result.data == _edit(local, 8, b"upstream edit\n")


def test_overlapping_edits_conflict_with_labelled_diff3_markers() -> None:
    result = merge3(BASE, _edit(BASE, 4, b"mine\n"), _edit(BASE, 4, b"theirs\n"))
    assert result.conflicted
    assert (
        b"<<<<<<< local\nmine\n||||||| base\nline 4\n=======\ntheirs\n>>>>>>> upstream\n"
        in result.data
    )
    assert result.data.startswith(b"line 0\n") and result.data.endswith(b"line 9\n")
    assert has_markers(result.data)


def test_identical_changes_on_both_sides_merge_cleanly() -> None:
    both = _edit(_edit(BASE, 2, b"same\n"), 7, b"also same\n")
    local = _edit(both, 0, b"only local\n")
    result = merge3(BASE, local, both)
    assert not result.conflicted and result.data == local


def test_additions_and_deletions_merge() -> None:
    local = BASE.replace(b"line 3\n", b"")
    upstream = BASE + b"appended upstream\n"
    result = merge3(BASE, local, upstream)
    assert not result.conflicted and result.data == local + b"appended upstream\n"


def test_non_utf8_and_crlf_text_merges_byte_exact() -> None:
    base = b"caf\xe9\r\nline\r\nend\r\n"
    local = b"caf\xe9 cr\xe8me\r\nline\r\nend\r\n"
    upstream = b"caf\xe9\r\nline\r\nend upstream\r\n"
    result = merge3(base, local, upstream)
    assert not result.conflicted
    assert result.data == b"caf\xe9 cr\xe8me\r\nline\r\nend upstream\r\n"


def test_missing_final_newline_in_a_conflict_keeps_markers_on_their_own_lines() -> None:
    result = merge3(b"a\nb", b"a\nc", b"a\nd")
    assert result.conflicted
    assert b"\n=======\n" in result.data and b"\n>>>>>>> upstream" in result.data


def test_a_failing_git_merge_file_is_an_error_not_a_clean_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "git"
    fake.write_text("#!/bin/sh\necho 'error: cannot merge' >&2\nexit 255\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError, match="cannot merge"):
        merge3(b"x\n", b"y\n", b"z\n")


def test_custom_labels_name_the_sides() -> None:
    result = merge3(b"x\n", b"y\n", b"z\n", labels=("yours", "installed", "v1.6.0"))
    assert b"<<<<<<< yours" in result.data and b">>>>>>> v1.6.0" in result.data


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"plain text\n", False),
        (b"caf\xe9 latin-1\n", False),
        (b"\x89PNG\r\n\x1a\n\x00\x00", True),
        (b"", False),
        (b"x" * 9000 + b"\0", False),
    ],
)
def test_binary_means_a_nul_byte_near_the_start(data: bytes, binary: bool) -> None:
    assert is_binary(data) is binary
