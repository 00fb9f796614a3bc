"""What saving the session costs during a whole upgrade: saves, bytes written, seconds.

Run: python benchmarks/bench_sessions.py [--scales 1 10] [--json]
For each scale it builds a sandbox (source with four tags, an install of v1.5.0 with a venv),
upgrades it v1.5.0 -> v1.6.0 in this process, and counts every SessionStore.save: the bytes it
wrote now (a small head, plus result files only when they changed) next to what a single JSON
file of the whole session would have been at each save (the format before), and the time spent.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from praxis_upgrade import demo
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine import session as sess
from praxis_upgrade.util import fs


def measure(scale: float, root: Path) -> dict[str, Any]:
    source = demo.make_source(root / "praxis-os", scale=scale)
    made = demo.make_target(root / "project", source, version="v1.5.0", venv=True)
    written = {"now": 0, "whole_file": 0, "saves": 0, "seconds": 0.0}
    original_save = sess.SessionStore.save
    original_bytes, original_json = fs.atomic_write_bytes, fs.atomic_write_json

    def counting_bytes(path: Path, data: bytes, **kw: Any) -> None:
        written["now"] += len(data)
        original_bytes(path, data, **kw)

    def counting_json(path: Path, obj: Any, **kw: Any) -> None:
        written["now"] += len(json.dumps(obj, indent=2, sort_keys=True)) + 1
        original_json(path, obj, **kw)

    def save(self: sess.SessionStore, session: sess.Session) -> None:
        written["saves"] += 1
        written["whole_file"] += len(json.dumps(session.to_json(), indent=2, sort_keys=True)) + 1
        sess.fs.atomic_write_bytes, sess.fs.atomic_write_json = counting_bytes, counting_json
        started = time.perf_counter()
        try:
            original_save(self, session)
        finally:
            written["seconds"] += time.perf_counter() - started
            sess.fs.atomic_write_bytes, sess.fs.atomic_write_json = original_bytes, original_json

    sess.SessionStore.save = save  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        engine.run_upgrade(made.project, source_path=source.path)
        wall = time.perf_counter() - started
    finally:
        sess.SessionStore.save = original_save  # type: ignore[method-assign]
    files = sum(1 for p in made.praxis.rglob("*") if p.is_file() and "venv" not in p.parts)
    return {"scale": scale, "install_files": files, "upgrade_wall_s": round(wall, 2), **written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1, 10])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
            rows.append(measure(scale, Path(tmp)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(
            f"scale {r['scale']:g} ({r['install_files']} files): {r['saves']} saves wrote "
            f"{r['now'] / 1e6:.2f} MB in {r['seconds']:.2f} s; one whole file per save would "
            f"have been {r['whole_file'] / 1e6:.2f} MB (upgrade {r['upgrade_wall_s']} s)"
        )


if __name__ == "__main__":
    main()
