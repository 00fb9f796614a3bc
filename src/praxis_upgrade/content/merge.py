"""Three-way text merge with `git merge-file --diff3` (git is required, like GitPython)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from praxis_upgrade.util import fs

SNIFF = 8000
LABELS = ("local", "base", "upstream")


@dataclass(frozen=True)
class MergeResult:
    data: bytes
    conflicted: bool


def is_binary(data: bytes) -> bool:
    """True for data a line merge must not touch (a NUL byte near the start, like git).

    Text in any 8-bit encoding (Latin-1, CP-1252, UTF-8 with stray bytes) merges line by line.
    """
    return b"\0" in data[:SNIFF]


def is_binary_file(path: Path) -> bool:
    """`is_binary` of a file on disk; only its first bytes are read."""
    return is_binary(fs.read_prefix(path, SNIFF))


def merge_files(
    base: Path,
    local: Path,
    upstream: Path,
    out: BinaryIO,
    *,
    labels: tuple[str, str, str] = LABELS,
) -> bool:
    """Merge three files on disk into `out` (a real file: git writes into it, so the result never
    passes through memory); True when overlapping edits became diff3 markers.

    Raises:
        OSError: git cannot be started.
        RuntimeError: git merge-file failed (an error exit, or killed).
    """
    cmd = ["git", "merge-file", "-p", "--diff3"]
    for label in labels:
        cmd += ["-L", label]
    out.flush()
    proc = subprocess.run(
        [*cmd, str(local), str(base), str(upstream)],
        stdout=out,
        stderr=subprocess.PIPE,
        check=False,
    )
    if proc.returncode < 0 or proc.returncode > 127:  # else: the number of conflicts
        raise RuntimeError(
            f"git merge-file failed (exit {proc.returncode}): "
            + proc.stderr.decode("utf-8", "replace").strip()
        )
    return proc.returncode > 0


def merge3(
    base: bytes,
    local: bytes,
    upstream: bytes,
    *,
    labels: tuple[str, str, str] = LABELS,
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
        sides = {}
        for name, data in (("local", local), ("base", base), ("upstream", upstream)):
            sides[name] = Path(tmp) / name
            sides[name].write_bytes(data)
        merged = Path(tmp) / "merged"
        with open(merged, "wb") as out:
            conflicted = merge_files(
                sides["base"], sides["local"], sides["upstream"], out, labels=labels
            )
        return MergeResult(merged.read_bytes(), conflicted)


def has_markers(data: bytes) -> bool:
    """True if `data` still holds conflict markers written by a merge."""
    return any(line.startswith(b"<<<<<<< ") for line in data.splitlines()) and any(
        line.startswith(b">>>>>>> ") for line in data.splitlines()
    )
