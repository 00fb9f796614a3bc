"""The blob cache: its size against the install's, and the time to fill it, loose vs packed.

Run: python benchmarks/bench_blobcache.py [--scales 1 10 [100]] [--json]  (scale 100: ~6 min)
Each scale builds a sandbox source and an install of v1.5.0, then caches the base versions of
v1.5.0 (a first upgrade's baseline) and then of v1.6.0 (the next one's), twice:
  - loose: each version read whole and stored alone, zlib level 6 (the scheme before the
    object store, still used for bytes the source does not have),
  - packed: `baseline.cache_blobs`, one `git pack-objects` per generation into the object store.
Sizes are apparent bytes and disk blocks (`du`); the install is its managed files, without venv.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from praxis_upgrade import demo
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.source.repo import MissingObject, SourceRepo, repack_objects
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs


def tree_bytes(folder: Path, skip: tuple[str, ...] = ()) -> tuple[int, int, int]:
    """(files, apparent bytes, allocated bytes) of the files under `folder`."""
    files = size = blocks = 0
    for path in folder.rglob("*"):
        if any(part in skip for part in path.relative_to(folder).parts) or path.is_symlink():
            continue
        if path.is_file():
            st = path.stat()
            files, size, blocks = files + 1, size + st.st_size, blocks + st.st_blocks * 512
    return files, size, blocks


def baseline_of(repo: SourceRepo, rev: str) -> bl.Baseline:
    """What an install of `rev` records (each version hashed once, as planning does)."""
    files = {}
    for rel, entry in repo.tree(rev).items():
        sha256 = fs.sha256_bytes(repo.blob(entry.git_blob))
        files[rel] = bl.FileRecord(sha256, entry.git_blob, entry.mode, entry.size)
    return bl.Baseline(rev, repo.resolve(rev), str(repo.path), "", files=files)


def fill_loose(target: Path, baseline: bl.Baseline, repo: SourceRepo) -> int:
    """The scheme before: every version not cached read whole and stored alone, compressed."""
    stored = 0
    for record in baseline.files.values():
        if bl.has_blob(target, record.sha256):
            continue
        try:
            data = repo.blob(record.git_blob)
        except MissingObject:
            continue
        if fs.sha256_bytes(data) == record.sha256:
            bl.store_blob(target, data)
            stored += 1
    return stored


def timed_fill(kind: str, target: Path, baseline: bl.Baseline, repo: SourceRepo) -> dict[str, Any]:
    started = time.perf_counter()
    if kind == "loose":
        added = fill_loose(target, baseline, repo)
    else:
        added = bl.cache_blobs(target, baseline, repo)
    seconds = time.perf_counter() - started
    files, size, blocks = tree_bytes(Store(target).blobs)
    return {
        "added": added,
        "fill_s": round(seconds, 3),
        "files": files,
        "bytes": size,
        "du": blocks,
    }


def read_back(target: Path, baseline: bl.Baseline, count: int = 50) -> float:
    """Mean seconds of one `load_blob` (checked against its sha256), over `count` versions."""
    records = list(baseline.files.values())[:: max(1, len(baseline.files) // count)][:count]
    started = time.perf_counter()
    for record in records:
        assert bl.load_blob(target, record.sha256) is not None
    return (time.perf_counter() - started) / len(records)


def bench(scale: float, root: Path) -> dict[str, Any]:
    source = demo.make_source(root / "praxis-os", scale=scale)
    made = demo.make_target(root / "project", source, version="v1.5.0")
    repo = SourceRepo(source.path)
    files, size, blocks = tree_bytes(made.praxis, skip=("venv", ".cache"))
    results: dict[str, Any] = {
        "scale": scale,
        "install": {"files": files, "bytes": size, "du": blocks},
    }
    generations = [baseline_of(repo, "v1.5.0"), baseline_of(repo, "v1.6.0")]
    for kind in ("loose", "packed"):
        target = root / kind / ".praxis-os"
        target.mkdir(parents=True)
        results[kind] = [timed_fill(kind, target, b, repo) for b in generations]
        results[kind][-1]["read_s"] = round(read_back(target, generations[-1]), 5)
    store = Store(root / "packed" / ".praxis-os").blobs / bl.STORE_NAME
    started = time.perf_counter()
    repack_objects(store)  # what the run that finds more than MAX_PACKS packs does
    results["repacked"] = {
        "repack_s": round(time.perf_counter() - started, 3),
        "bytes": tree_bytes(store)[1],
        "du": tree_bytes(store)[2],
    }
    repo.close()
    return results


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def show(r: dict[str, Any]) -> None:
    install = r["install"]
    print(
        f"scale {r['scale']:g}: install {install['files']} files, {mb(install['bytes'])} "
        f"(du {mb(install['du'])})"
    )
    for kind in ("loose", "packed"):
        first, second = r[kind]
        print(
            f"  {kind:6}  v1.5.0: {first['added']} versions in {first['fill_s']:.2f} s -> "
            f"{mb(first['bytes'])} (du {mb(first['du'])}, "
            f"{first['du'] / install['du']:.0%} of the install's du), {first['files']} files; "
            f"+v1.6.0: {second['added']} in {second['fill_s']:.2f} s -> {mb(second['bytes'])} "
            f"(du {mb(second['du'])}); one load_blob {second['read_s'] * 1000:.1f} ms"
        )
    repacked = r["repacked"]
    print(
        f"  both generations repacked into one pack: {mb(repacked['bytes'])} "
        f"(du {mb(repacked['du'])}) in {repacked['repack_s']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="bench-blobcache-") as tmp:
            started = time.perf_counter()
            result = bench(scale, Path(tmp))
            result["bench_s"] = round(time.perf_counter() - started, 1)
        out.append(result)
        if not args.json:
            show(result)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
