"""Three-way text merge with `git merge-file --diff3` (git is required, like GitPython)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SNIFF = 8000


@dataclass(frozen=True)
class MergeResult:
    data: bytes
    conflicted: bool


def is_binary(data: bytes) -> bool:
    """True for data a line merge must not touch (a NUL byte near the start, like git).

    Text in any 8-bit encoding (Latin-1, CP-1252, UTF-8 with stray bytes) merges line by line.
    """
    return b"\0" in data[:SNIFF]


def merge3(
    base: bytes,
    local: bytes,
    upstream: bytes,
    *,
    labels: tuple[str, str, str] = ("local", "base", "upstream"),
) -> MergeResult:
    """Merge the changes base->local and base->upstream; overlapping ones become diff3 markers.

    Raises:
        OSError: git cannot be started.
        RuntimeError: git merge-file failed (an error exit, or killed).
    """
    if local == upstream:
        return MergeResult(local, False)
    if base == local:
        return MergeResult(upstream, False)
    if base == upstream:
        return MergeResult(local, False)
    with tempfile.TemporaryDirectory(prefix="praxis-merge-") as tmp:
        files = []
        for name, data in (("local", local), ("base", base), ("upstream", upstream)):
            path = Path(tmp) / name
            path.write_bytes(data)
            files.append(str(path))
        cmd = ["git", "merge-file", "-p", "--diff3"]
        for label in labels:
            cmd += ["-L", label]
        proc = subprocess.run(cmd + files, capture_output=True, check=False)
    if proc.returncode < 0 or proc.returncode > 127:  # else: the number of conflicts
        raise RuntimeError(
            f"git merge-file failed (exit {proc.returncode}): "
            + proc.stderr.decode("utf-8", "replace").strip()
        )
    return MergeResult(proc.stdout, proc.returncode > 0)


def has_markers(data: bytes) -> bool:
    """True if `data` still holds conflict markers written by a merge."""
    return any(line.startswith(b"<<<<<<< ") for line in data.splitlines()) and any(
        line.startswith(b">>>>>>> ") for line in data.splitlines()
    )
