"""Benchmark of the content core over sandbox installs: adopt, plan, apply, baseline, no-op.

Run: python benchmarks/bench_content.py [--scales 1 10] [--json]
Aims: plan < 0.5 s at scale 1, < 3 s at scale 10. The apply is set against its floor: Python
start-up + `cp` + `sha256sum` of the files it wrote, and that plus one `sync -f`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from praxis_upgrade import demo
from praxis_upgrade.content import adopt
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.apply import apply_plan, new_baseline
from praxis_upgrade.content.plan import make_plan
from praxis_upgrade.source.repo import SourceRepo

T = TypeVar("T")
AIMS = {1: 0.5, 10: 3.0}


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def age(root: Path, seconds: int = 3600) -> None:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            p = os.path.join(folder, name)
            st = os.stat(p)
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def _run_s(args: list[str], **kwargs: Any) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def apply_floor(praxis: Path, written: list[str], scratch: Path) -> dict[str, float]:
    """The least writing `written` costs: Python start-up, `cp` and `sha256sum` of those files,
    then one `sync -f`."""
    scratch.mkdir()
    os.sync()
    python = _run_s([sys.executable, "-c", "pass"])
    cp = _run_s(["cp", "--parents", "-P", "-t", str(scratch), "--", *written], cwd=praxis)
    sha = _run_s(["sha256sum", "--", *written], cwd=praxis)
    sync = _run_s(["sync", "-f", str(scratch)])
    return {"python": python, "floor": python + cp + sha, "floor_sync": python + cp + sha + sync}


def bench(scale: float, work: Path) -> dict[str, Any]:
    source, t_source = timed(lambda: demo.make_source(work / f"src-{scale}", scale=scale))
    target = demo.make_target(work / f"project-{scale}", source, version=source.tags[0], edits=True)
    praxis = target.praxis
    repo = SourceRepo(source.path)
    files = sum(1 for p in praxis.rglob("*") if p.is_file())
    record, t_adopt = timed(lambda: adopt.adopt(praxis, repo))
    plan, t_plan = timed(lambda: make_plan(praxis, repo, "HEAD", record))
    os.sync()  # what making the install left dirty is not the apply's cost
    result, t_apply = timed(lambda: apply_plan(plan, praxis, repo, policy="keep-local"))
    floor = apply_floor(praxis, sorted(result.written), work / f"floor-{scale}")
    new, t_baseline = timed(lambda: new_baseline(plan, praxis, repo, result))
    _, t_save = timed(lambda: bl.save(praxis, new))
    fresh = bl.load(praxis)
    noop_fresh, t_noop_fresh = timed(lambda: make_plan(praxis, repo, "HEAD", fresh))
    age(praxis)  # as on a later day: no file is "racily clean" any more
    bl.save(praxis, new_baseline(plan, praxis, repo, result))
    aged = bl.load(praxis)
    noop, t_noop = timed(lambda: make_plan(praxis, repo, "HEAD", aged))
    return {
        "scale": scale,
        "files_in_install": files,
        "managed_paths": len(plan.entries),
        "changes": len(plan.changes()),
        "make_source_s": round(t_source, 3),
        "adopt_s": round(t_adopt, 3),
        "plan_s": round(t_plan, 3),
        "apply_s": round(t_apply, 3),
        "apply_files_written": len(result.written),
        "apply_floor_s": round(floor["floor"], 3),
        "apply_floor_sync_s": round(floor["floor_sync"], 3),
        "apply_plus_start_vs_floor_sync": round(
            (t_apply + floor["python"]) / floor["floor_sync"], 2
        ),
        "new_baseline_s": round(t_baseline + t_save, 3),
        "noop_plan_right_after_s": round(t_noop_fresh, 3),
        "noop_plan_right_after_hashed": noop_fresh.hashed,
        "noop_plan_s": round(t_noop, 3),
        "noop_plan_hashed": noop.hashed,
        "noop_changes": len(noop.changes()),
        "plan_peak_mib": round(peak_mib(lambda: make_plan(praxis, repo, "HEAD", record)), 1),
        "adopt_peak_mib": round(peak_mib(lambda: adopt.adopt(praxis, repo)), 1),
        "aim_plan_s": AIMS.get(int(scale)),
        "plan_within_aim": t_plan < AIMS.get(int(scale), float("inf")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
        rows = [bench(s, Path(tmp)) for s in args.scales]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        json.dump({"runs": rows, "max_rss_mib": round(rss, 1)}, sys.stdout, indent=2)
        print()
    else:
        for row in rows:
            print(f"scale {row['scale']:g}:")
            for key, value in row.items():
                if key != "scale":
                    print(f"  {key:<30} {value}")
        print(f"process max RSS: {rss:.1f} MiB")
    return 0 if all(r["plan_within_aim"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
