"""Benchmark phases 3-4 on a sandbox install (scale 1): unchanged vs changed dependencies.

Unchanged: fingerprint check + start the stand-in from the venv + MCP handshake + tools/list +
smoke calls (target < 2 s wall). Changed (fakedep 1.0 -> 2.0): install into a fresh venv and
roll back, with pip and with uv; a later rollback with the replaced venv kept in the backup and
without it, and the kept venv's size. Also stop + restart of an http server by pid.
Run: `python benchmarks/bench_server.py [--json] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from praxis_upgrade.demo import make_source, make_target, start_server
from praxis_upgrade.server import lifecycle, probe, toolnames, venv


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_unchanged(target: Path, repeat: int) -> dict[str, float]:
    expected = toolnames.expected_tools(target)
    fingerprint = venv.requirements_fingerprint(target, venv.venv_python(target))
    totals, checks, probes = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        t_check, needed = _timed(lambda: venv.needs_install(target, fingerprint))
        assert not needed
        t_probe, result = _timed(lambda: probe.probe_server(target, expected=expected))
        assert result.ok, result.checks
        totals.append(time.perf_counter() - t0)
        checks.append(t_check)
        probes.append(t_probe)
    return {
        "fingerprint check": statistics.median(checks),
        "probe (start+MCP+smoke)": statistics.median(probes),
        "phases 3-4 unchanged": statistics.median(totals),
    }


def bench_changed(target: Path, wheels: Path, use_uv: bool, repeat: int) -> dict[str, float]:
    req = target / "mcp_server" / "requirements.txt"
    original = req.read_text()
    installs, restores = [], []
    try:
        for _ in range(repeat):
            req.write_text(original.replace("fakedep==1.0", "fakedep==2.0"))
            t_install, change = _timed(
                lambda: venv.install_requirements(
                    target, find_links=[wheels], no_index=True, use_uv=use_uv
                )
            )
            t_restore, _ = _timed(lambda: venv.restore_environment(target, change))  # noqa: B023
            installs.append(t_install)
            restores.append(t_restore)
    finally:
        req.write_text(original)
    name = "uv" if use_uv else "pip"
    return {
        f"install ({name})": statistics.median(installs),
        f"rollback ({name})": statistics.median(restores),
    }


def _size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())


def bench_way_back(target: Path, wheels: Path, use_uv: bool) -> dict[str, float]:
    """A finished upgrade rolled back later: with the replaced venv kept in the backup (a rename)
    and without it (the exact old set reinstalled), and what keeping it costs on disk."""
    req = target / "mcp_server" / "requirements.txt"
    original = req.read_text()
    kept = target / ".backups" / "bench" / "venv"
    kept.parent.mkdir(parents=True, exist_ok=True)
    name = "uv" if use_uv else "pip"
    try:
        req.write_text(original.replace("fakedep==1.0", "fakedep==2.0"))
        change = venv.install_requirements(
            target, find_links=[wheels], no_index=True, use_uv=use_uv
        )
        size = _size(target / "venv.praxis-prev")
        t_keep, _ = _timed(lambda: venv.keep_previous(target, kept))
        t_swap, _ = _timed(lambda: venv.restore_environment(target, change, kept=kept))
        req.write_text(original.replace("fakedep==1.0", "fakedep==2.0"))
        change = venv.install_requirements(
            target, find_links=[wheels], no_index=True, use_uv=use_uv
        )
        venv.discard_previous(target)
        t_rebuild, _ = _timed(lambda: venv.restore_environment(target, change))
    finally:
        req.write_text(original)
    return {
        f"keep the replaced venv in the backup ({name})": t_keep,
        f"later rollback, venv kept: rename back + check ({name})": t_swap,
        f"later rollback, venv not kept: reinstall ({name})": t_rebuild,
        f"kept venv size, MiB ({name})": size / 2**20,
    }


def bench_restart(target_obj: Any) -> dict[str, float]:
    server = start_server(target_obj, transport="http")
    target = target_obj.praxis
    deadline = time.monotonic() + 10
    while not isinstance(found := lifecycle.find_server(target), lifecycle.ServerProcess):
        if time.monotonic() > deadline:
            raise RuntimeError("stand-in server did not start")
        time.sleep(0.02)
    captured = found.capture()
    t_stop, _ = _timed(lambda: lifecycle.stop_server(found))
    server.wait()
    t_restart, outcome = _timed(lambda: lifecycle.restart_server(captured, target))
    if outcome.pid:
        again = lifecycle.find_server(target)
        if isinstance(again, lifecycle.ServerProcess):
            lifecycle.stop_server(again)
    return {"stop by pid": t_stop, "restart (http, until state file)": t_restart}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = make_source(root / "praxis-os")
        tgt = make_target(root / "project", source, version="v1.5.0", venv=True, edits=False)
        rows: dict[str, float] = {}
        rows |= bench_unchanged(tgt.praxis, args.repeat)
        rows |= bench_restart(tgt)
        rows |= bench_changed(tgt.praxis, source.path / "wheels", False, args.repeat)
        rows |= bench_way_back(tgt.praxis, source.path / "wheels", False)
        if venv.uv_binary():
            rows |= bench_changed(tgt.praxis, source.path / "wheels", True, args.repeat)
            rows |= bench_way_back(tgt.praxis, source.path / "wheels", True)
    if args.json:
        print(json.dumps({k: round(v, 4) for k, v in rows.items()}, indent=2))
        return
    width = max(map(len, rows))
    print(f"{'step':<{width}}  seconds")
    for name, secs in rows.items():
        print(f"{name:<{width}}  {secs:7.3f}")
    total = rows["phases 3-4 unchanged"]
    print(
        f"\nunchanged dependencies: {total:.2f} s wall "
        f"({'OK' if total < 2 else 'OVER'} the 2 s target)"
    )


if __name__ == "__main__":
    main()
