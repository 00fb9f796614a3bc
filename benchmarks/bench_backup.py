"""Benchmark: backup + restore time at real-install size and 10x, with and without a big
venv/workspace.

Shows that backup cost follows the listed (touched) paths only: a 150 MB venv and a 20 MB workspace
in the install change nothing. Run: `python benchmarks/bench_backup.py [--json] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from praxis_upgrade.backups.create import create_backup
from praxis_upgrade.backups.manifest import verify_backup
from praxis_upgrade.backups.restore import restore_backup
from praxis_upgrade.util import fs

MB = 1_000_000
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
        for k in ("backup", "restore", "restore_again")
    }
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
    args = parser.parse_args()
    cases = [
        ("1x", 350, int(2.8 * MB), 0, 0),
        ("1x + venv/workspace", 350, int(2.8 * MB), 150 * MB, 20 * MB),
        ("10x", 3500, 28 * MB, 0, 0),
        ("10x + venv/workspace", 3500, 28 * MB, 150 * MB, 20 * MB),
    ]
    results = [run_case(*case, repeat=args.repeat) for case in cases]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'case':<22}{'files':>6}{'install MB':>12}{'backup MB':>11}"
        f"{'backup s':>10}{'restore s':>11}{'again s':>9}"
    )
    for r in results:
        print(
            f"{r['case']:<22}{r['files']:>6}"
            f"{r['install_bytes'] / MB:>12.1f}{r['backup_bytes'] / MB:>11.2f}"
            f"{r['backup']:>10.3f}{r['restore']:>11.3f}{r['restore_again']:>9.3f}"
        )


if __name__ == "__main__":
    main()
