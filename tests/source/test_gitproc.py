"""Plain git processes: one-shot commands and the long-lived object reader."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from kits.contentkit import BASE_FILES, Source, make_source
from praxis_upgrade.errors import SourceError
from praxis_upgrade.source.gitproc import GitFailed, ObjectReader, git_env, run
from praxis_upgrade.source.repo import SourceRepo, git_blob_id


def _reader(src: Source) -> closing[ObjectReader]:
    """A reader of `src`'s objects, closed when the `with` block ends."""
    return closing(ObjectReader(src.path / ".git", git_env()))


def test_reader_answers_one_name_after_another_with_missing_ones_between(tmp_path: Path) -> None:
    pyramid = BASE_FILES["universal/standards/testing/pyramid.md"]
    with _reader(make_source(tmp_path)) as reader:
        assert reader.read(git_blob_id(pyramid)) == ("blob", pyramid)
        assert reader.read("0" * 40) is None
        assert reader.read("HEAD:no/such/file") is None
        assert reader.read("HEAD:universal/standards/testing/pyramid.md") == ("blob", pyramid)
        kind, _data = reader.read("HEAD:universal") or ("", b"")
        assert kind == "tree"
        assert reader.read("two\nlines") is None  # a name git's batch protocol cannot carry


def test_reader_names_the_object_a_revision_points_at_as_rev_parse_does(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    run(["tag", "-a", "-m", "annotated", "annotated"], cwd=src.path)
    head = run(["rev-parse", "HEAD"], cwd=src.path).decode().strip()
    with _reader(src) as reader:
        assert reader.object_id("HEAD^{commit}") == head
        assert reader.object_id("v1.0.0^{commit}") == head
        assert reader.object_id("annotated^{commit}") == head  # through the tag object
        assert reader.object_id("annotated") not in (None, head)  # the tag object itself
        assert reader.object_id("no-such-branch^{commit}") is None
        assert reader.object_id("HEAD:universal^{commit}") is None  # a tree is no commit
        assert reader.object_id("-h") is None  # a name, never an option
        assert reader.read("HEAD:universal/standards/testing/pyramid.md") == (
            "blob",
            BASE_FILES["universal/standards/testing/pyramid.md"],
        )


def test_a_revision_git_dies_on_is_said_not_to_exist_like_any_other(tmp_path: Path) -> None:
    repo = SourceRepo(make_source(tmp_path).path)
    for rev in ("HEAD@{99}", "HEAD@{upstream}", "no-such-tag"):  # the reader dies on the first two
        with pytest.raises(SourceError, match="does not exist"):
            repo.resolve(rev)
    assert repo.resolve("HEAD") == run(["rev-parse", "HEAD"], cwd=repo.path).decode().strip()


def test_reader_starts_again_after_close_and_ends_its_process(tmp_path: Path) -> None:
    with _reader(make_source(tmp_path)) as reader:
        assert reader.read("HEAD") is not None
        proc = reader._proc
        assert proc is not None
        reader.close()
        assert proc.returncode is not None  # waited for, not left behind
        assert reader.read("HEAD") is not None


@pytest.mark.parametrize("asked", ["one object", "many hashed"])
def test_a_reader_whose_git_died_says_so_and_the_next_call_starts_a_new_one(
    tmp_path: Path, asked: str
) -> None:
    blobs = [git_blob_id(data) for data in BASE_FILES.values()]
    with _reader(make_source(tmp_path)) as reader:
        assert reader.read("HEAD") is not None
        assert reader._proc is not None
        os.kill(reader._proc.pid, signal.SIGKILL)
        reader._proc.wait()
        if asked == "one object":
            with pytest.raises(SourceError, match="broke off"):
                reader.read("HEAD")
            assert reader.read("HEAD") is not None
        else:
            with pytest.raises(SourceError, match="broke off"):
                reader.sha256s(blobs)
            assert len(reader.sha256s(blobs)) == len(set(blobs))


def test_run_returns_stdout_and_raises_with_gits_own_words(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    assert run(["rev-parse", "--is-inside-work-tree"], cwd=src.path) == b"true\n"
    with pytest.raises(GitFailed) as info:
        run(["cat-file", "-p", "no-such-rev"], cwd=src.path)
    assert "no-such-rev" in info.value.stderr and "no-such-rev" in info.value.message


def test_git_env_drops_what_points_git_elsewhere_and_pins_what_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/elsewhere/index")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "kept")
    env = git_env(GIT_WORK_TREE="/here")
    assert "GIT_DIR" not in env and "GIT_INDEX_FILE" not in env
    assert env["GIT_AUTHOR_NAME"] == "kept" and env["GIT_WORK_TREE"] == "/here"


def test_a_praxis_tree_inside_another_repository_is_not_taken_for_a_clone(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    inner = outer / "vendor" / "praxis-os"
    for d in ("universal", "mcp_server"):
        (inner / d).mkdir(parents=True)
    with pytest.raises(SourceError, match="is not a git repository") as info:
        SourceRepo(inner)
    assert "--source" in (info.value.hint or "")


def test_a_worktree_of_a_clone_is_a_source_of_its_own(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    other = tmp_path / "second-checkout"
    subprocess.run(
        ["git", "-C", str(src.path), "worktree", "add", "-q", "--detach", str(other)], check=True
    )
    (other / "scripts" / "build_rag_index.py").write_text("edited in the worktree only\n")
    repo = SourceRepo(other)
    assert repo.dirty_paths() == ["scripts/build_rag_index.py"]
    assert not SourceRepo(src.path).is_dirty()
    assert repo.tree("HEAD") == SourceRepo(src.path).tree("HEAD")


def test_hashing_many_names_shares_the_readers_process_and_leaves_it_in_step(
    tmp_path: Path,
) -> None:
    big = bytes(range(256)) * 5000  # over a read chunk: hashed in pieces
    src = make_source(tmp_path, {**BASE_FILES, "mcp_server/big.bin": big})
    small = BASE_FILES["scripts/build_rag_index.py"]
    with _reader(src) as reader:
        assert reader.read("HEAD") is not None
        proc = reader._proc
        got = reader.sha256s([git_blob_id(big), "0" * 40, git_blob_id(small), "HEAD:universal"])
        assert got == {
            git_blob_id(big): hashlib.sha256(big).hexdigest(),
            git_blob_id(small): hashlib.sha256(small).hexdigest(),
        }  # a missing object and a tree are left out
        assert reader._proc is proc
        assert reader.read(git_blob_id(small)) == ("blob", small)


def test_reading_many_objects_at_once_returns_each_with_its_type(tmp_path: Path) -> None:
    pyramid = BASE_FILES["universal/standards/testing/pyramid.md"]
    with _reader(make_source(tmp_path)) as reader:
        got = reader.read_many(["HEAD:universal", git_blob_id(pyramid), "0" * 40, "HEAD"])
        assert set(got) == {"HEAD:universal", git_blob_id(pyramid), "HEAD"}
        assert got[git_blob_id(pyramid)] == ("blob", pyramid)
        assert got["HEAD:universal"][0] == "tree" and got["HEAD"][0] == "commit"
        assert reader.read(git_blob_id(pyramid)) == ("blob", pyramid)  # still in step


def _alarm(seconds: int) -> None:
    """Fail instead of hanging: SIGALRM raises in the test after `seconds`."""

    def fail(_signum: int, _frame: object) -> None:
        raise TimeoutError("the reader hung")

    signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)


def test_ctrl_c_in_the_middle_of_a_batch_comes_back_at_once_and_leaves_no_stale_answer(
    tmp_path: Path,
) -> None:
    files = {f"universal/standards/many/f{i:05}.md": b"%d\n" % i * 50 for i in range(1000)}
    src = make_source(tmp_path, {**BASE_FILES, **files})
    ids = [git_blob_id(data) for data in files.values()]

    def interrupted(_name: str, _kind: str, _size: int, _out: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C does, mid-answer, with git's pipe full

    _alarm(60)
    try:
        with _reader(src) as reader:
            with pytest.raises(KeyboardInterrupt):
                reader._batch(ids, interrupted)
            pyramid = BASE_FILES["universal/standards/testing/pyramid.md"]
            assert reader.read(git_blob_id(pyramid)) == ("blob", pyramid)
            assert len(reader.sha256s(ids)) == len(set(ids))
    finally:
        signal.alarm(0)


def test_names_with_spaces_missing_or_not_and_names_git_would_cut_short(tmp_path: Path) -> None:
    spaced = b"a file with spaces\n"
    src = make_source(tmp_path, {**BASE_FILES, "universal/standards/a b.md": spaced})
    with _reader(src) as reader:
        assert reader.read("HEAD:universal/standards/a b.md") == ("blob", spaced)
        assert reader.read("HEAD:universal/standards/no such.md") is None
        assert reader.read("HEAD:universal/standards/a b.md\r") is None
        assert reader.read("HEAD:universal/standards/a b.md\0junk") is None
        got = reader.read_many(
            ["HEAD:universal/standards/a b.md", "HEAD:no such", "HEAD:x y missing"]
        )
        assert got == {"HEAD:universal/standards/a b.md": ("blob", spaced)}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the clone to another user")
def test_a_clone_owned_by_another_user_is_refused_with_gits_reason_and_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # no safe.directory of this machine's
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for root, dirs, names in os.walk(src.path):
        for name in [*dirs, *names]:
            os.lchown(os.path.join(root, name), 65534, 65534)
    os.lchown(src.path, 65534, 65534)
    with pytest.raises(SourceError, match="owned by another user") as info:
        SourceRepo(src.path)
    assert "safe.directory" in (info.value.hint or "")
