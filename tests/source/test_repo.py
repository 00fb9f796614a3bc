"""The source clone: revisions, installable trees, blobs, dirtiness and history."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from kits.contentkit import BASE_FILES, make_source
from praxis_upgrade.errors import SourceError
from praxis_upgrade.source.repo import MissingObject, SourceRepo, git_blob_id


def test_git_blob_id_matches_git_hash_object(tmp_path: Path) -> None:
    data = b"caf\xc3\xa9\r\nno newline at end"
    f = tmp_path / "x"
    f.write_bytes(data)
    out = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True, check=True)
    assert git_blob_id(data) == out.stdout.strip()


def test_tree_maps_installable_files_to_their_install_paths(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    tree = SourceRepo(src.path).tree("HEAD")
    assert set(tree) == {
        "standards/universal/testing/pyramid.md",
        "standards/universal/ai-assistant/guide.md",
        "standards/universal/installation/gitignore-requirements.md",
        "workflows/spec_creation_v1/metadata.json",
        "workflows/spec_creation_v1/phases/1/phase.md",
        "mcp_server/__main__.py",
        "mcp_server/server/tools/rag_tools.py",
        "scripts/build_rag_index.py",
        "scripts/pre-commit/check.sh",
    }
    entry = tree["scripts/pre-commit/check.sh"]
    assert entry.mode == 0o755 and entry.size == len(BASE_FILES["scripts/pre-commit/check.sh"])
    assert tree["mcp_server/__main__.py"].mode == 0o644
    assert entry.git_blob == git_blob_id(BASE_FILES["scripts/pre-commit/check.sh"])


def test_blob_and_read_return_exact_bytes(tmp_path: Path) -> None:
    data = b"\x00\x01binary\xff\n\n"
    src = make_source(tmp_path, {**BASE_FILES, "mcp_server/data.bin": data})
    repo = SourceRepo(src.path)
    assert repo.read("HEAD", "mcp_server/data.bin") == data
    assert repo.blob(git_blob_id(data)) == data
    with pytest.raises(MissingObject):
        repo.blob("0" * 40)


def test_version_prefers_version_file_then_tag_then_commit(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    repo = SourceRepo(src.path)
    assert repo.version("HEAD") == "v1.0.0"
    sha = src.commit({"universal/standards/testing/pyramid.md": b"changed\n"})
    assert repo.version(sha).startswith("v1.0.0-1-g")
    src.commit({"VERSION.txt": b"Repository: praxis-os\nCurrent Version: v2.1.0\n"})
    assert repo.version("HEAD") == "v2.1.0"
    bare = make_source(tmp_path / "untagged")
    bare.repo.git.tag("-d", "v1.0.0")
    assert SourceRepo(bare.path).version("HEAD") == bare.repo.head.commit.hexsha[:10]


def test_resolve_names_the_missing_revision(tmp_path: Path) -> None:
    repo = SourceRepo(make_source(tmp_path).path)
    assert repo.resolve("v1.0.0") == repo.head
    with pytest.raises(SourceError, match="v9.9"):
        repo.resolve("v9.9")


def test_untracked_or_modified_installable_files_make_the_source_dirty(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    repo = SourceRepo(src.path)
    assert not repo.is_dirty()
    (src.path / "docs").mkdir()
    (src.path / "docs" / "notes.md").write_text("outside the installable trees\n")
    (src.path / "mcp_server" / "__pycache__").mkdir()
    (src.path / "mcp_server" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert not repo.is_dirty()
    (src.path / "universal" / "standards" / "new.md").write_text("new\n")
    assert repo.dirty_paths() == ["universal/standards/new.md"]
    (src.path / "universal" / "standards" / "new.md").unlink()
    (src.path / "scripts" / "build_rag_index.py").write_text("edited\n")
    assert repo.is_dirty()


@pytest.mark.parametrize("layout", ["missing", "not-git", "not-praxis"])
def test_a_bad_source_is_refused_with_a_hint(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "src"
    if layout != "missing":
        path.mkdir()
    if layout == "not-praxis":
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    with pytest.raises(SourceError) as info:
        SourceRepo(path)
    assert info.value.hint


def test_history_index_knows_every_version_of_every_path(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    first = src.repo.head.commit.hexsha
    second = src.commit({"universal/standards/testing/pyramid.md": b"v2\n"}, tag="v1.1.0")
    src.commit(
        {"universal/standards/testing/pyramid.md": None, "mcp_server/new.py": b"x = 1\n"},
        tag="v1.2.0",
    )
    index = SourceRepo(src.path).history_index()
    versions = index.versions["standards/universal/testing/pyramid.md"]
    assert versions == {
        git_blob_id(b"v2\n"): second,
        git_blob_id(BASE_FILES["universal/standards/testing/pyramid.md"]): first,
    }
    assert [c.tags for c in index.commits] == [("v1.2.0",), ("v1.1.0",), ("v1.0.0",)]
    newest = {p for part in index.commits[0].parts for p, _b, _m in index.files(part)}
    assert "mcp_server/new.py" in newest and "standards/universal/testing/pyramid.md" not in newest


def test_git_environment_of_a_hook_does_not_redirect_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path)
    other = make_source(tmp_path / "other", {**BASE_FILES, "scripts/only_here.py": b"1\n"})
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    repo = SourceRepo(src.path)
    assert "scripts/only_here.py" not in repo.tree("HEAD")
    assert not repo.is_dirty()


def test_history_ignores_the_stash(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (src.path / "scripts/build_rag_index.py").write_bytes(b"uncommitted edit\n")
    src.repo.git.stash()
    index = SourceRepo(src.path).history_index()
    assert git_blob_id(b"uncommitted edit\n") not in index.versions["scripts/build_rag_index.py"]
    assert len(index.commits) == 1


def test_sha256s_hashes_every_blob_in_one_pass_as_reading_each_would(tmp_path: Path) -> None:
    big = bytes(range(256)) * 9000  # over a read chunk: streamed in pieces
    files = dict(BASE_FILES)
    files["universal/standards/testing/big.bin"] = big
    files.update({f"universal/standards/many/f{i:04}.md": b"n%d\n" % i for i in range(3000)})
    src = make_source(tmp_path, files)
    repo = SourceRepo(src.path)
    blobs = {e.git_blob for e in repo.tree("HEAD").values()}
    absent = "0123456789abcdef0123456789abcdef01234567"
    got = repo.sha256s([*blobs, absent, "not-an-id"])
    assert got == {b: hashlib.sha256(repo.blob(b)).hexdigest() for b in blobs}
    assert hashlib.sha256(big).hexdigest() in got.values()
