"""A whole `praxis-upgrade run --dry-run` process against its floor, on a real-size install.

Run: python benchmarks/bench_dryrun.py [--scale 1] [--rounds 7] [--against REV] [--json]

The floor is what any tool answering the same question must at least do: start Python, list the
source revision's tree (`git ls-tree -r`) and hash the install's managed files (`sha256sum`).
Both are timed as whole processes, in alternating rounds (median), for two installs:
  - adopted: an install with a recorded baseline (`praxis-upgrade adopt`), the usual case;
  - first: an install the tool has never seen (the dry run adopts it from the history first).
With --against REV the same dry runs of the code at git revision REV of this repository run in
the same rounds (a before/after on the same machine and load).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import praxis_upgrade
from praxis_upgrade import demo

CLI = "import sys; from praxis_upgrade.cli import main; sys.exit(main())"
RUNTIME = {"venv", ".cache", ".backups", "workspace", ".praxis-upgrade"}


def timed(argv: list[str], **kwargs: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def managed_files(praxis: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(praxis):
        if Path(dirpath) == praxis:
            dirnames[:] = [d for d in dirnames if d not in RUNTIME]
        out += [os.path.join(dirpath, f) for f in filenames]
    return sorted(out)


def floor(source: Path, files: list[str]) -> tuple[float, float]:
    parts = [
        timed([sys.executable, "-c", "pass"]),
        timed(["git", "-C", str(source), "ls-tree", "-r", "HEAD"]),
        timed(["sha256sum", *files]),
    ]
    return sum(w for w, _ in parts), sum(c for _, c in parts)


def adopted_copy(project: Path, source: Path, dest: Path) -> Path:
    """A copy of `project` with its baseline recorded by `praxis-upgrade adopt` (the usual state
    after a first upgrade); returns the copy."""
    shutil.copytree(project, dest, symlinks=True)
    subprocess.run(
        [sys.executable, "-c", CLI, "adopt", "--json", "-s", str(source)],
        cwd=dest,
        check=True,
        capture_output=True,
    )
    return dest


def dry_run(source: Path, project: Path, code: Path | None = None) -> tuple[float, float]:
    """One dry run of the installed code, or of the package under `code` (a src folder)."""
    argv = [sys.executable, "-c", CLI, "run", "--dry-run", "--json", "-s", str(source)]
    env = {**os.environ, "PYTHONPATH": str(code)} if code is not None else None
    return timed(argv, cwd=project, env=env)


def code_at(rev: str, dest: Path) -> Path:
    """The `src` folder of this repository at `rev`, compiled; returns it."""
    repo = Path(__file__).resolve().parent.parent
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    compileall.compile_dir(dest / "src", quiet=1)
    return dest / "src"


def bench(scale: float, rounds: int, root: Path, against: str | None = None) -> dict[str, Any]:
    # bytecode as `pip install` leaves it (an editable install under PYTHONDONTWRITEBYTECODE
    # would compile every changed module on every run, and measure that instead)
    compileall.compile_dir(Path(praxis_upgrade.__file__).parent, quiet=1)
    source = demo.make_source(root / "praxis-os", scale=scale)
    made = demo.make_target(root / "first", source, version="v1.5.0", venv=True)
    adopted = adopted_copy(made.project, source.path, root / "adopted")
    files = managed_files(made.praxis)
    result: dict[str, Any] = {"scale": scale, "managed_files": len(files), "rounds": rounds}
    samples: dict[str, list[tuple[float, float]]] = {"floor": [], "adopted": [], "first": []}
    other = code_at(against, root / "against") if against else None
    if other is not None:
        samples.update({"adopted_against": [], "first_against": []})
    for _ in range(rounds):
        samples["floor"].append(floor(source.path, files))
        samples["adopted"].append(dry_run(source.path, adopted))
        samples["first"].append(dry_run(source.path, made.project))
        if other is not None:
            samples["adopted_against"].append(dry_run(source.path, adopted, other))
            samples["first_against"].append(dry_run(source.path, made.project, other))
    for name, got in samples.items():
        result[name] = {
            "wall_s": round(statistics.median(w for w, _ in got), 3),
            "cpu_s": round(statistics.median(c for _, c in got), 3),
        }
    for name in [n for n in samples if n != "floor"]:
        result[name]["x_floor"] = round(result[name]["wall_s"] / result["floor"]["wall_s"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", metavar="REV", help="also time the code at this git revision")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
        os.environ["PRAXIS_UPGRADE_HOME"] = str(Path(tmp) / "home")
        r = bench(args.scale, args.rounds, Path(tmp), args.against)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"scale {r['scale']:g}: {r['managed_files']} managed files, median of {r['rounds']}")
    print(f"  floor (python start + git ls-tree + sha256sum)  {r['floor']['wall_s']:.3f} s wall")
    labels = {"adopted": "with a baseline", "first": "first run (adopts)"}
    if args.against:
        labels.update(
            {
                "adopted_against": f"with a baseline, {args.against}",
                "first_against": f"first run, {args.against}",
            }
        )
    for name, label in labels.items():
        x = r[name]
        print(
            f"  dry run, {label:<30} {x['wall_s']:.3f} s wall, {x['cpu_s']:.3f} s CPU, "
            f"{x['x_floor']:.1f}x the floor"
        )


if __name__ == "__main__":
    main()
