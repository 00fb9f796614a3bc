"""Benchmark phases 3-4 on a sandbox install (scale 1): unchanged vs changed dependencies.

Unchanged: fingerprint check + start the stand-in from the venv + MCP handshake + tools/list +
smoke calls (target < 2 s wall). Changed (fakedep 1.0 -> 2.0): install into a fresh venv and
roll back, with pip and with uv; a later rollback with the replaced venv kept in the backup and
without it, and the kept venv's size. Also stop + restart of an http server by pid.
Slow start: a stand-in that works 10 s before it answers (like the real server loading its
model), its own start-up time next to the whole validation (goal: < 1 s of overhead).
Expected tool names (`--toolnames-scales 1,10,100`, `--toolnames-only` for just these rows): the
parse every file used to get, next to `expected_tools` without a cache, with an empty cache, and
with a filled one (files re-read and hashed; stat unchanged, nothing read).
Run: `python benchmarks/bench_server.py [--json] [--repeat N] [--start-cpu S]
[--toolnames-scales S,...] [--toolnames-only]`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from praxis_upgrade.demo import make_source, make_target, start_server
from praxis_upgrade.server import lifecycle, probe, toolnames, venv
from praxis_upgrade.util import fs


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


def _own_start(target: Path, env: dict[str, str]) -> float:
    """Seconds the stand-in takes to start on its own: from launch to its "ready" log line."""
    cmd = probe.launch_command(target)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=target.parent,
        env={**os.environ, **env, "PYTHONPATH": str(target)},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if " ready " in line:
            break
    took = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    return took


def bench_slow_start(target: Path, start_cpu: float) -> dict[str, float]:
    """Validation of a server that works `start_cpu` seconds before it answers (like the real
    one loading its model): the server's own start next to the whole probe, and the overhead."""
    env = {"FAKE_MCP_START_CPU": str(start_cpu)}
    own = _own_start(target, env)
    expected = toolnames.expected_tools(target)
    t_probe, result = _timed(lambda: probe.probe_server(target, expected=expected, env=env))
    assert result.ok, result.checks
    return {
        f"slow start {start_cpu:g}s: the server's own start": own,
        f"slow start {start_cpu:g}s: launch to initialize answered": result.started_in or 0.0,
        f"slow start {start_cpu:g}s: whole validation": t_probe,
        f"slow start {start_cpu:g}s: validation overhead beyond the start": t_probe - own,
    }


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
        size = fs.tree_size(target / "venv.praxis-prev")
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


def bench_toolnames(server: Path, scale: float, repeat: int) -> dict[str, float]:
    """`expected_tools` at one scale: the parse of every file it did before its cache, then
    without a cache, with an empty one, and with a filled one (content hits, stat hits)."""
    cache = server.parent / "bench-toolnames.json"
    files = [Path(path) for _rel, path in toolnames.server_files(server)]

    def parse_every_file() -> None:
        for file in files:
            ast.walk(ast.parse(file.read_text(encoding="utf-8", errors="replace")))

    def cold() -> set[str]:
        cache.unlink(missing_ok=True)
        return toolnames.expected_tools(server, cache=cache)

    def runs(fn: Callable[[], Any]) -> float:
        return statistics.median(_timed(fn)[0] for _ in range(repeat))

    fresh = toolnames.expected_tools(server)
    assert cold() == fresh
    rows = {"parse every file (before the cache)": runs(parse_every_file)}
    rows["no cache"] = runs(lambda: toolnames.expected_tools(server))
    rows["empty cache (hash + parse + write)"] = runs(cold)
    racy, toolnames._RACY_NS = toolnames._RACY_NS, 1 << 62  # every file as if just written
    try:
        rows["cached, every file re-read and hashed"] = runs(
            lambda: toolnames.expected_tools(server, cache=cache)
        )
    finally:
        toolnames._RACY_NS = racy
    newest = max(f.stat().st_ctime_ns for f in files)  # stats vouch once past the racy window
    time.sleep(max(0.0, (newest + racy) / 1e9 - time.time() + 0.1))
    toolnames.expected_tools(server, cache=cache)  # records stats that are now old enough
    rows["cached, stat unchanged (nothing read)"] = runs(
        lambda: toolnames.expected_tools(server, cache=cache)
    )
    assert toolnames.expected_tools(server, cache=cache) == fresh
    rows["cache file, KiB"] = cache.stat().st_size / 1024
    return {
        f"expected tools, scale {scale:g} ({len(files)} files): {k}": v for k, v in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--start-cpu", type=float, default=10.0, help="the slow stand-in's start-up work (s)"
    )
    parser.add_argument(
        "--toolnames-scales", default="1", help="sandbox scales for the tool-name rows, e.g. 1,10"
    )
    parser.add_argument("--toolnames-only", action="store_true", help="only the tool-name rows")
    args = parser.parse_args()
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in (float(s) for s in args.toolnames_scales.split(",") if s):
            made = make_source(Path(tmp) / f"toolnames-{scale:g}" / "praxis-os", scale=scale)
            rows |= bench_toolnames(made.path / "mcp_server", scale, args.repeat)
    if args.toolnames_only:
        _print(rows, args.json)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = make_source(root / "praxis-os")
        tgt = make_target(root / "project", source, version="v1.5.0", venv=True, edits=False)
        rows |= bench_unchanged(tgt.praxis, args.repeat)
        rows |= bench_restart(tgt)
        rows |= bench_slow_start(tgt.praxis, args.start_cpu)
        rows |= bench_changed(tgt.praxis, source.path / "wheels", False, args.repeat)
        rows |= bench_way_back(tgt.praxis, source.path / "wheels", False)
        if venv.uv_binary():
            rows |= bench_changed(tgt.praxis, source.path / "wheels", True, args.repeat)
            rows |= bench_way_back(tgt.praxis, source.path / "wheels", True)
    _print(rows, args.json)
    if args.json:
        return
    total = rows["phases 3-4 unchanged"]
    print(
        f"\nunchanged dependencies: {total:.2f} s wall "
        f"({'OK' if total < 2 else 'OVER'} the 2 s target)"
    )


def _print(rows: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(json.dumps({k: round(v, 4) for k, v in rows.items()}, indent=2))
        return
    width = max(map(len, rows))
    print(f"{'step':<{width}}  seconds")
    for name, secs in rows.items():
        print(f"{name:<{width}}  {secs:7.3f}")


if __name__ == "__main__":
    main()
