"""End-to-end benchmark: a whole upgrade, an automatic rollback and a no-op run, per phase.

Run: python benchmarks/bench_upgrade.py [--scales 1 10] [--json]
Each scale builds a sandbox (source with four tags; an install of v1.5.0 with user edits and a
real venv), then times with the engine's own per-step timings:
  - a full upgrade v1.5.0 -> v1.6.0 (including the dependency bump and MCP validation),
  - the same upgrade failing at validation, rolled back automatically,
  - a second, no-op run on the upgraded install,
  - the same upgrade on an install whose baseline is recorded ("known": no adoption first).
Peak RSS and bytes written are measured per scenario in a child process: all bytes the Python
process wrote (`wchar` of /proc/self/io, Linux: files, scratch files and pipes to git) and, by
what they are for, what was added on disk under the backups, the session files and the tool's
cache, plus the content files written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_dryrun import adopted_copy

from praxis_upgrade import demo, hookimpl
from praxis_upgrade.engine import run as engine
from praxis_upgrade.engine.session import SessionStore
from praxis_upgrade.errors import RolledBack
from praxis_upgrade.plugin.manager import get_plugin_manager
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs


class FailValidation:
    @hookimpl(wrapper=True)
    def praxis_validate(self):  # type: ignore[no-untyped-def]
        yield
        raise RuntimeError("benchmark: validation made to fail")


def _proc_number(file: str, key: str) -> int | None:
    """The number after ``key:`` in ``/proc/self/<file>`` (Linux); None where there is none."""
    try:
        for line in Path("/proc/self", file).read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_rss_kib() -> int:
    """This process's peak RSS. Linux's ``ru_maxrss`` carries the parent's peak over a fork and
    exec (the benchmark's parent built the sandbox), so ``VmHWM`` is read where there is one."""
    peak = _proc_number("status", "VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _wchar() -> int:
    """Bytes this process has passed to write() and its kin; -1 where unknown."""
    wrote = _proc_number("io", "wchar")
    return wrote if wrote is not None else -1


def _size_without_kept_venvs(backups: Path) -> int:
    """Bytes of the backups, less the venvs kept in them (moved there by a rename, not written)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(backups):
        if Path(dirpath).parent == backups:
            dirnames[:] = [d for d in dirnames if d != "venv"]
        total += sum(os.lstat(os.path.join(dirpath, f)).st_size for f in filenames)
    return total


def _sizes(praxis: Path) -> dict[str, int]:
    store = Store(praxis)
    return {
        "backup": _size_without_kept_venvs(store.backups),
        "checkpoints": fs.tree_size(store.sessions) if store.sessions.is_dir() else 0,
        "cache": fs.tree_size(store.work) if store.work.is_dir() else 0,
    }


def _content_bytes(session: Any, praxis: Path) -> int:
    total = 0
    for step in ("content", "server.code"):
        for path in (session.results.get(step) or {}).get("written") or {}:
            with contextlib.suppress(OSError):
                total += os.lstat(praxis / path).st_size
    return total


def scenario(kind: str, project: Path, source: Path) -> dict[str, Any]:
    praxis = project / ".praxis-os"
    before, wrote = _sizes(praxis), _wchar()
    started = time.perf_counter()
    if kind == "rollback":
        pm = get_plugin_manager(load_entrypoints=False, extra=[FailValidation()])
        try:
            engine.run_upgrade(project, source_path=source, pm=pm)
        except RolledBack:
            pass
        peak = _peak_rss_kib()  # the run's, before the benchmark reads the session back whole
        session = max(SessionStore(project / ".praxis-os").all(), key=lambda s: s.id)
    else:
        session = engine.run_upgrade(project, source_path=source, dry_run=kind == "plan")
        peak = _peak_rss_kib()
    return {
        "wall_s": round(time.perf_counter() - started, 3),
        "steps_s": session.timings,
        "status": session.status,
        "summary": (session.results.get("plan") or {}).get("summary"),
        "peak_rss_mib": round(peak / 1024, 1),
        "written_mb": {
            "all (wchar)": round((_wchar() - wrote) / 1e6, 2),
            "content": round(_content_bytes(session, praxis) / 1e6, 2),
            **{k: round((v - before[k]) / 1e6, 2) for k, v in _sizes(praxis).items()},
        },
    }


def child(kind: str, project: Path, source: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(project), str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def bench(scale: float, root: Path) -> dict[str, Any]:
    source = demo.make_source(root / "praxis-os", scale=scale)
    made = demo.make_target(root / "template", source, version="v1.5.0", venv=True)
    files = sum(1 for p in made.praxis.rglob("*") if p.is_file() and "venv" not in p.parts)
    results: dict[str, Any] = {"scale": scale, "install_files_without_venv": files}
    for kind in ("plan", "upgrade", "rollback"):
        project = root / kind
        shutil.copytree(made.project, project, symlinks=True)
        results[kind] = child(kind, project, source.path)
    results["noop"] = child("upgrade", root / "upgrade", source.path)
    # the usual case after the first upgrade: a baseline is recorded, nothing is adopted
    known = adopted_copy(made.project, source.path, root / "known")
    results["known"] = child("upgrade", known, source.path)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1, 10])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PROJECT", "SOURCE"))
    args = parser.parse_args()
    if args.child:
        kind, project, source = args.child
        print(json.dumps(scenario(kind, Path(project), Path(source))))
        return
    rows = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
            rows.append(bench(scale, Path(tmp)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(
            f"\nscale {r['scale']:g}: {r['install_files_without_venv']} files in the install "
            "(without venv)"
        )
        for kind in ("plan", "upgrade", "rollback", "noop", "known"):
            x = r[kind]
            steps = ", ".join(f"{k} {v:.2f}" for k, v in x["steps_s"].items() if v >= 0.01)
            print(
                f"  {kind:<8} {x['status']:<11} wall {x['wall_s']:6.2f} s  "
                f"peak RSS {x['peak_rss_mib']:6.1f} MiB"
            )
            print(f"           steps: {steps}")
            print(
                "           MB written: "
                + ", ".join(f"{k} {v}" for k, v in x["written_mb"].items())
            )


if __name__ == "__main__":
    main()
