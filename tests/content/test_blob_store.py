"""The blob cache's object store, with real git: filled from the clone, read back when a later
clone lacks a base version, and never giving wrong bytes whatever happened to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kits.contentkit import BASE_FILES, TEXT, Source, baseline_for, edit, install, make_source
from kits.sandboxkit import Sandbox
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.apply import apply_plan
from praxis_upgrade.content.plan import make_plan
from praxis_upgrade.demo import clone_source
from praxis_upgrade.engine import run as engine
from praxis_upgrade.errors import SourceError
from praxis_upgrade.source import repo as repo_mod
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.store import Store

DOC = "universal/standards/rows/doc.md"
LOCAL_DOC = "standards/universal/rows/doc.md"


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[tuple[Source, Path, bl.Baseline]]:
    """A source, an install of it with its baseline saved and every base version cached."""
    src = make_source(tmp_path, {**BASE_FILES, DOC: TEXT})
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    repo = SourceRepo(src.path)
    bl.save(target, record, repo=repo)
    repo.close()
    yield src, target, record


def store_of(target: Path) -> Path:
    return Store(target).blobs / bl.STORE_NAME


def packs(target: Path) -> list[Path]:
    return sorted((store_of(target) / "objects" / "pack").glob("pack-*.pack"))


def loose(target: Path) -> list[Path]:
    blobs = Store(target).blobs
    return [p for p in blobs.glob("??/*") if p.is_file()]


def all_load(target: Path, record: bl.Baseline) -> bool:
    return all(bl.load_blob(target, r.sha256) is not None for r in record.files.values())


def reclone(src: Source, dest: Path, how: str) -> Path:
    """A later clone without the installed version: shallow, or history rewritten (one new root
    commit holding upstream's current files)."""
    if how == "shallow":
        subprocess.run(["git", "clone", "-q", "--depth", "1", src.path.as_uri(), dest], check=True)
        return dest
    fresh = Source(dest)
    fresh.commit({rel: src.read(rel) for rel in src.repo.git.ls_files().splitlines()})
    return dest


def test_the_base_versions_go_into_one_pack_and_read_back_exactly(
    cached: tuple[Source, Path, bl.Baseline],
) -> None:
    _src, target, record = cached
    assert len(packs(target)) == 1 and loose(target) == []
    for rec in record.files.values():
        assert bl.has_blob(target, rec.sha256)
        data = bl.load_blob(target, rec.sha256)
        assert data is not None and bl.hash_bytes(data) == (rec.sha256, rec.git_blob)
    assert bl.load_blob(target, "0" * 64) is None and not bl.has_blob(target, "0" * 64)


@pytest.mark.parametrize("how", ["shallow", "rewritten"])
def test_a_later_clone_without_the_base_merges_from_the_packed_cache(
    cached: tuple[Source, Path, bl.Baseline], tmp_path: Path, how: str
) -> None:
    src, target, _record = cached
    (target / LOCAL_DOC).write_bytes(edit(TEXT, 1, b"mine"))
    src.commit({DOC: edit(TEXT, 10, b"upstream")})
    clone = SourceRepo(reclone(src, tmp_path / how, how))
    base_blob = bl.load(target).files[LOCAL_DOC].git_blob  # type: ignore[union-attr]
    assert clone.present_blobs([base_blob]) == set()

    plan = make_plan(target, clone, "HEAD", bl.load(target))
    result = apply_plan(plan, target, clone, policy="merge")

    assert [d.result for d in result.decisions] == ["merged"]
    merged = edit(edit(TEXT, 1, b"mine"), 10, b"upstream")
    assert (target / LOCAL_DOC).read_bytes() == merged
    assert all(".praxis-upstream" not in p.name for p in (target / LOCAL_DOC).parent.iterdir())


def test_versions_cached_alone_by_an_older_release_still_load_and_are_not_packed_again(
    tmp_path: Path,
) -> None:
    src = make_source(tmp_path, {**BASE_FILES, DOC: TEXT})
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    old = record.files[LOCAL_DOC]
    path = Store(target).blobs / old.sha256[:2] / old.sha256  # how the loose cache stored it
    path.parent.mkdir(parents=True)
    path.write_bytes(zlib.compress(TEXT, 6))

    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == len(record.files) - 1
    assert bl.load_blob(target, old.sha256) == TEXT and all_load(target, record)
    index = (store_of(target) / "sha256-index").read_text()
    assert old.sha256 not in index and len(index.splitlines()) == len(record.files) - 1


def test_a_corrupted_pack_gives_none_never_wrong_bytes(
    cached: tuple[Source, Path, bl.Baseline],
) -> None:
    _src, target, record = cached
    (pack,) = packs(target)
    data = bytearray(pack.read_bytes())
    for at in range(12, len(data) - 20, 7):  # past the header, before the trailing checksum
        data[at] ^= 0x5A
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    for rec in record.files.values():
        assert bl.load_blob(target, rec.sha256) is None


def test_an_index_naming_the_wrong_blob_gives_none(
    cached: tuple[Source, Path, bl.Baseline],
) -> None:
    _src, target, record = cached
    index = store_of(target) / "sha256-index"
    lines = index.read_text().splitlines()
    shas = [line.split()[0] for line in lines]
    blobs = [line.split()[1] for line in lines]
    swapped = [f"{s} {b}" for s, b in zip(shas, blobs[1:] + blobs[:1], strict=True)]
    index.write_text("\n".join(swapped) + "\n")
    assert all(bl.load_blob(target, rec.sha256) is None for rec in record.files.values())
    assert bl.cache_blobs(target, record, SourceRepo(record.source_path)) == 0  # all held
    assert all_load(target, record)  # the next fill rewrote the index from the baseline


def test_what_a_killed_fill_left_is_cleared_and_its_pack_not_made_again(
    cached: tuple[Source, Path, bl.Baseline],
) -> None:
    src, target, record = cached
    folder = store_of(target) / "objects" / "pack"
    (folder / "tmp_pack_Ab12Cd").write_bytes(b"PACK half")
    (folder / "pack-0123456789abcdef0123456789abcdef01234567.pack").write_bytes(b"PACK")
    (store_of(target) / "sha256-index").unlink()  # killed after its pack, before its index
    assert not any(bl.has_blob(target, rec.sha256) for rec in record.files.values())

    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == 0

    assert sorted(p.name for p in folder.iterdir()) == sorted(
        n for p in packs(target) for n in (p.name, p.with_suffix(".idx").name)
    )
    assert len(packs(target)) == 1 and all_load(target, record)


def test_versions_git_cannot_pack_are_stored_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)

    def fails(*_args: object) -> str:
        raise SourceError("git pack-objects: out of memory")

    monkeypatch.setattr(SourceRepo, "pack_blobs", fails)
    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == len(record.files)
    assert len(loose(target)) == len(record.files) and all_load(target, record)


def test_more_than_max_packs_are_merged_into_one_and_every_version_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bl, "MAX_PACKS", 2)
    src = make_source(tmp_path, {**BASE_FILES, DOC: TEXT})
    target = install(tmp_path / "project", src.path)
    repo = SourceRepo(src.path)
    records = []
    for n in range(4):  # one pack per generation that adds versions
        if n:
            src.commit({DOC: edit(TEXT, n, b"generation %d" % n)})
        record = bl.Baseline("v", repo.head, str(src.path), "")
        for rel, entry in repo.tree("HEAD").items():
            sha256 = bl.hash_bytes(repo.blob(entry.git_blob))[0]
            record.files[rel] = bl.FileRecord(sha256, entry.git_blob, entry.mode)
        assert bl.cache_blobs(target, record, repo) == (len(record.files) if n == 0 else 1)
        assert len(packs(target)) == (1 if n == 0 else [2, 1, 2][n - 1])
        records.append(record)
    assert all(all_load(target, r) for r in records)


def test_the_store_follows_the_umask(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    old = os.umask(0o027)
    try:
        bl.cache_blobs(target, record, SourceRepo(src.path))
    finally:
        os.umask(old)
    store = store_of(target)
    for path in [store, *store.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o027 == 0, (path, oct(mode))
    assert (store / "sha256-index").stat().st_mode & 0o777 == 0o640


def test_a_git_hook_environment_does_not_divert_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    other = Source(tmp_path / "other")
    other.commit({"x": b"x\n"})
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other.path / ".git" / "objects"))
    before = sorted((other.path / ".git" / "objects").rglob("*"))
    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == len(record.files)
    assert all_load(target, record)
    assert sorted((other.path / ".git" / "objects").rglob("*")) == before


def test_a_fill_from_a_shallow_clone_caches_what_it_has(
    tmp_path: Path,
) -> None:
    src = make_source(tmp_path, {**BASE_FILES, DOC: TEXT})
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    src.commit({DOC: edit(TEXT, 3, b"new")})
    shallow = SourceRepo(reclone(src, tmp_path / "shallow", "shallow"))
    assert bl.cache_blobs(target, record, shallow) == len(record.files) - 1
    assert bl.load_blob(target, record.files[LOCAL_DOC].sha256) is None
    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == 1
    assert all_load(target, record) and len(packs(target)) == 2


def test_an_upgrade_from_a_later_shallow_clone_merges_from_the_packed_cache(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.4.0", venv=True)
    engine.run_upgrade(target.project, source_path=sandbox.source.path, rev="v1.5.0")
    assert len(packs(target.praxis)) == 1
    recorded = bl.load(target.praxis)
    assert recorded is not None and all_load(target.praxis, recorded)
    shallow = clone_source(sandbox.source, tmp_path / "shallow", depth=1)
    bases = {r.git_blob for r in recorded.files.values()}
    assert SourceRepo(shallow.path).present_blobs(bases) != bases  # some only the cache has
    sides = sorted(target.praxis.rglob("*.praxis-upstream"))  # the first upgrade's conflicts

    session = engine.run_upgrade(target.project, source_path=shallow.path)

    assert session.status == "completed", session.status
    decisions = [
        d
        for step in ("content", "server.code")
        for d in (session.results.get(step) or {}).get("decisions", [])
    ]
    merged = [d for d in decisions if d.get("klass") == "both-changed"]
    assert merged and all(d.get("result") == "merged" for d in merged), decisions
    merged_bases = {recorded.files[d["path"]].git_blob for d in merged}
    assert SourceRepo(shallow.path).present_blobs(merged_bases) == set()  # from the cache
    assert sorted(target.praxis.rglob("*.praxis-upstream")) == sides  # no merge fell back


@pytest.mark.parametrize(("damage", "repacked"), [("HEAD", False), ("objects/pack", True)])
def test_a_store_missing_its_parts_is_repaired_in_place_and_keeps_what_it_still_holds(
    cached: tuple[Source, Path, bl.Baseline], damage: str, repacked: bool
) -> None:
    src, target, record = cached
    part = store_of(target) / damage
    shutil.rmtree(part) if part.is_dir() else part.unlink()
    added = bl.cache_blobs(target, record, SourceRepo(src.path))
    assert added == (len(record.files) if repacked else 0)  # a lost HEAD loses no version
    assert all_load(target, record) and loose(target) == []


def test_a_git_failure_while_filling_never_empties_the_store(
    cached: tuple[Source, Path, bl.Baseline], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, target, record = cached

    def fails(*_args: object) -> set[str]:
        raise SourceError("git could not be run: out of memory")

    monkeypatch.setattr(bl.repo_mod, "present_objects", fails)
    bl.cache_blobs(target, record, SourceRepo(src.path))
    monkeypatch.undo()
    assert all_load(target, record)  # every base version still loads


def test_a_fill_asked_in_small_batches_caches_every_version_and_keeps_the_index_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo_mod, "ASK_BATCH", 2)  # git is asked two ids at a time
    monkeypatch.setattr(bl, "_PIECE", 100)  # and the index written a line or so at a time
    src = make_source(tmp_path, {**BASE_FILES, DOC: TEXT})
    target = install(tmp_path / "project", src.path)
    record = baseline_for(target, src.path)
    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == len(record.files) > 4
    newer = TEXT + b"a later version\n"
    src.commit({DOC: newer})
    sha256, blob = bl.hash_bytes(newer)
    record.files["extra.md"] = bl.FileRecord(sha256, blob, 0o644)

    assert bl.cache_blobs(target, record, SourceRepo(src.path)) == 1  # only what is new
    lines = (store_of(target) / "sha256-index").read_text().splitlines()
    assert lines == sorted(lines) and f"{sha256} {blob}" in lines
    assert len(lines) == len({r.sha256 for r in record.files.values()})
    assert all_load(target, record)
