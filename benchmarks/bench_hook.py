"""What the git hook adds to a `git pull` that changed nothing it watches (docs only), and to one
that changed `universal/` (notify mode), next to the same pulls with no hook installed.

Run: python benchmarks/bench_hook.py [--pulls 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from praxis_upgrade.integrations import githook


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, rel: str, text: str) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", rel)


def pulls(upstream: Path, clone: Path, rel: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        commit(upstream, rel, f"change {time.time_ns()} {i}\n")
        started = time.perf_counter()
        git(clone, "pull", "-q", "--ff-only")
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
        root = Path(tmp)
        os.environ["PRAXIS_UPGRADE_HOME"] = str(root / "home")
        upstream, clone, project = root / "upstream", root / "clone", root / "project"
        (project / ".praxis-os" / "standards").mkdir(parents=True)
        git(root, "init", "-q", str(upstream))
        git(upstream, "config", "user.email", "b@example.com")
        git(upstream, "config", "user.name", "bench")
        commit(upstream, "universal/standards/a.md", "a\n")
        commit(upstream, "docs/index.md", "docs\n")
        git(root, "clone", "-q", str(upstream), str(clone))
        rows = {
            "no hook, docs only": statistics.median(
                pulls(upstream, clone, "docs/x.md", args.pulls)
            ),
            "no hook, universal/": statistics.median(
                pulls(upstream, clone, "universal/standards/a.md", args.pulls)
            ),
        }
        githook.install(clone, [project])
        rows["hook, docs only"] = statistics.median(pulls(upstream, clone, "docs/x.md", args.pulls))
        rows["hook, universal/ (notify)"] = statistics.median(
            pulls(upstream, clone, "universal/standards/a.md", args.pulls)
        )
    if args.json:
        print(json.dumps({k: round(v, 4) for k, v in rows.items()}, indent=2))
        return
    for name, secs in rows.items():
        print(f"{name:<28} {secs:6.3f} s (median of {args.pulls} pulls)")
    print(
        f"the hook adds {rows['hook, docs only'] - rows['no hook, docs only']:+.3f} s to a pull "
        "that changed nothing it watches"
    )


if __name__ == "__main__":
    main()
