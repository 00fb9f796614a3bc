"""Benchmark: backup + restore time at real-install size and 10x, with and without a big
venv/workspace.

Shows that backup cost follows the listed (touched) paths only: a 150 MB venv and a 20 MB workspace
in the install change nothing. The backup also runs as a whole process and is set against its
floor: Python start-up + `cp` + `sha256sum` of the same files, and that plus one `sync -f`.
Run: `python benchmarks/bench_backup.py [--json] [--repeat N] [--only TEXT]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import praxis_upgrade
from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.manifest import verify_backup
from praxis_upgrade.backups.restore import restore_backup
from praxis_upgrade.util import fs

MB = 1_000_000
SRC = str(Path(praxis_upgrade.__file__).resolve().parent.parent)  # the code this bench imports
BACKUP_PROCESS = """
import json, sys
from pathlib import Path
import praxis_upgrade
from praxis_upgrade.backups.create import create_backup
create_backup(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), meta={})
"""
AREAS = ("standards/universal", "workflows/spec_execution_v1", "mcp_server/server", "scripts")


def make_install(
    root: Path, *, files: int, total_bytes: int, venv_bytes: int, workspace_bytes: int
) -> list[str]:
    """Write an install of `files` managed files (`total_bytes` in all) plus runtime bulk; return
    the paths."""
    rng = random.Random(files)
    target = root / ".praxis-os"
    rels = []
    for i in range(files):
        rel = f"{AREAS[i % len(AREAS)]}/d{i % 17}/file{i}.md"
        size = max(1, int(rng.lognormvariate(0, 1) * total_bytes / files / 1.65))
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        rels.append(rel)
    _bulk(target / "venv/lib/python3.11/site-packages", venv_bytes, 50_000)
    _bulk(target / "workspace", workspace_bytes, 200_000)
    return rels


def _bulk(folder: Path, total: int, each: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(each)
    for i in range(total // each):
        (folder / f"pkg{i // 100}" / f"m{i}.bin").parent.mkdir(exist_ok=True)
        (folder / f"pkg{i // 100}" / f"m{i}.bin").write_bytes(block)


def fake_upgrade(target: Path, rels: list[str]) -> dict[str, str]:
    """Change a third of the files, chmod some, delete a few, add 20; return what it wrote."""
    written = {}
    for i, rel in enumerate(rels):
        if i % 3 == 0:
            fs.atomic_write_bytes(target / rel, b"upgraded " + rel.encode())
            written[rel] = fs.sha256_file(target / rel)
        elif i % 11 == 0:
            (target / rel).unlink()
    for i in range(20):
        rel = f"workflows/new_wf/phase{i}.md"
        fs.atomic_write_bytes(target / rel, f"new {i}\n".encode())
        written[rel] = fs.sha256_file(target / rel)
    return written


def _timed_run(args: list[str], **kwargs: Any) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def floor(target: Path, rels: list[str], dest: Path) -> dict[str, float]:
    """The least any backup of `rels` costs: Python start-up, `cp` and `sha256sum` of the files,
    then one `sync -f` of the copy's filesystem."""
    dest.mkdir()
    os.sync()  # what earlier writes left dirty is not this backup's cost
    python = _timed_run([sys.executable, "-c", "pass"])
    copy = ["cp", "--parents", "-P", "--preserve=mode", "-t", str(dest), "--", *rels]
    cp = _timed_run(copy, cwd=target)
    sha = _timed_run(["sha256sum", "--", *rels], cwd=target)
    sync = _timed_run(["sync", "-f", str(dest)])
    return {"floor": python + cp + sha, "floor_sync": python + cp + sha + sync}


def backup_process(target: Path, rels: list[str], listing: Path) -> float:
    """Seconds of a whole `python` process that backs up `rels` (start-up and imports too)."""
    listing.write_text(json.dumps(rels))
    os.sync()
    env = {**os.environ, "PYTHONPATH": SRC}
    args = [sys.executable, "-c", BACKUP_PROCESS, str(target), str(listing)]
    return _timed_run(args, env=env)


def one_run(files: int, total: int, venv: int, workspace: int) -> dict[str, float]:
    """Build an install, back it up, upgrade it, restore it, restore it again; return seconds and
    sizes."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        rels = make_install(
            Path(tmp), files=files, total_bytes=total, venv_bytes=venv, workspace_bytes=workspace
        )
        target = Path(tmp) / ".praxis-os"
        added = [f"workflows/new_wf/phase{i}.md" for i in range(20)]
        out.update(floor(target, rels, Path(tmp) / "floor"))
        out["backup_process"] = backup_process(target, rels + added, Path(tmp) / "paths.json")
        os.sync()
        start = time.perf_counter()
        made = create_backup(target, rels + added, meta={"session": "bench"})
        out["backup"] = time.perf_counter() - start
        assert verify_backup(made.path) == []
        written = fake_upgrade(target, rels)
        start = time.perf_counter()
        report = restore_backup(target, made, added_shas=written)
        out["restore"] = time.perf_counter() - start
        assert report.verified and len(report.removed) == 20
        start = time.perf_counter()
        again = restore_backup(target, made, added_shas=written)
        out["restore_again"] = time.perf_counter() - start
        assert again.verified and not again.restored
        out["install_bytes"] = _du(target) - _du(target / ".backups")
        out["backup_bytes"] = _du(made.path)
    return out


def run_case(
    name: str, files: int, total: int, venv: int, workspace: int, repeat: int
) -> dict[str, Any]:
    runs = [one_run(files, total, venv, workspace) for _ in range(repeat)]
    medians = {
        k: round(statistics.median(r[k] for r in runs), 4)
        for k in ("backup", "restore", "restore_again", "backup_process", "floor", "floor_sync")
    }
    medians["ratio_floor"] = round(medians["backup_process"] / medians["floor"], 2)
    medians["ratio_floor_sync"] = round(medians["backup_process"] / medians["floor_sync"], 2)
    sizes = {k: int(runs[0][k]) for k in ("install_bytes", "backup_bytes")}
    return {
        "case": name,
        "files": files,
        "managed_bytes": total,
        "venv_bytes": venv,
        "workspace_bytes": workspace,
        **sizes,
        **medians,
    }


def _du(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    parser.add_argument("--only", default="", help="run only the cases whose name holds this")
    args = parser.parse_args()
    cases = [
        ("1x", 350, int(2.8 * MB), 0, 0),
        ("1x + venv/workspace", 350, int(2.8 * MB), 150 * MB, 20 * MB),
        ("10x", 3500, 28 * MB, 0, 0),
        ("10x + venv/workspace", 3500, 28 * MB, 150 * MB, 20 * MB),
    ]
    chosen = [case for case in cases if args.only in case[0]]
    results = [run_case(*case, repeat=args.repeat) for case in chosen]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'case':<22}{'files':>6}{'install MB':>12}{'backup MB':>11}"
        f"{'backup s':>10}{'restore s':>11}{'again s':>9}"
        f"{'process s':>11}{'floor s':>9}{'+sync s':>9}{'x floor':>9}{'x +sync':>9}"
    )
    for r in results:
        print(
            f"{r['case']:<22}{r['files']:>6}"
            f"{r['install_bytes'] / MB:>12.1f}{r['backup_bytes'] / MB:>11.2f}"
            f"{r['backup']:>10.3f}{r['restore']:>11.3f}{r['restore_again']:>9.3f}"
            f"{r['backup_process']:>11.3f}{r['floor']:>9.3f}{r['floor_sync']:>9.3f}"
            f"{r['ratio_floor']:>9.2f}{r['ratio_floor_sync']:>9.2f}"
        )


if __name__ == "__main__":
    main()
