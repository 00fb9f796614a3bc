"""Three-way text merge (`git merge-file --diff3`, with a pure-Python fallback)."""
from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
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
    base: bytes, local: bytes, upstream: bytes, *, labels: tuple[str, str, str] = ("local", "base", "upstream")
) -> MergeResult:
    """Merge the changes base->local and base->upstream; overlapping ones become diff3 markers."""
    if local == upstream:
        return MergeResult(local, False)
    if base == local:
        return MergeResult(upstream, False)
    if base == upstream:
        return MergeResult(local, False)
    try:
        return _git_merge(base, local, upstream, labels)
    except (OSError, RuntimeError):
        return merge3_python(base, local, upstream, labels=labels)


def _git_merge(base: bytes, local: bytes, upstream: bytes, labels: tuple[str, str, str]) -> MergeResult:
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
    if proc.returncode < 0 or proc.returncode > 127:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace"))
    return MergeResult(proc.stdout, proc.returncode > 0)


# -- pure-Python diff3 (after the classic merge3 of bzr/breezy) ------------------------------
Lines = Sequence[bytes]


def _sync_regions(base: Lines, a: Lines, b: Lines) -> list[tuple[int, int, int, int, int, int]]:
    am = SequenceMatcher(None, base, a, autojunk=False).get_matching_blocks()
    bm = SequenceMatcher(None, base, b, autojunk=False).get_matching_blocks()
    ia = ib = 0
    regions = []
    while ia < len(am) and ib < len(bm):
        abase, amatch, alen = am[ia]
        bbase, bmatch, blen = bm[ib]
        lo, hi = max(abase, bbase), min(abase + alen, bbase + blen)
        if lo < hi:
            asub, bsub = amatch + lo - abase, bmatch + lo - bbase
            regions.append((lo, hi, asub, asub + hi - lo, bsub, bsub + hi - lo))
        if abase + alen < bbase + blen:
            ia += 1
        else:
            ib += 1
    regions.append((len(base), len(base), len(a), len(a), len(b), len(b)))
    return regions


def _chunks(base: Lines, a: Lines, b: Lines) -> Iterator[tuple[str, Lines, Lines, Lines]]:
    iz = ia = ib = 0
    for zmatch, zend, amatch, aend, bmatch, bend in _sync_regions(base, a, b):
        if amatch > ia or bmatch > ib or zmatch > iz:
            zs, as_, bs = base[iz:zmatch], a[ia:amatch], b[ib:bmatch]
            if as_ == bs:
                yield "take", as_, zs, bs
            elif zs == as_:
                yield "take", bs, zs, bs
            elif zs == bs:
                yield "take", as_, zs, bs
            else:
                yield "conflict", as_, zs, bs
        if zend > zmatch:
            yield "take", base[zmatch:zend], base[zmatch:zend], base[zmatch:zend]
        iz, ia, ib = zend, aend, bend


def merge3_python(
    base: bytes, local: bytes, upstream: bytes, *, labels: tuple[str, str, str] = ("local", "base", "upstream")
) -> MergeResult:
    """The same merge without git: line-based diff3 with `git merge-file`-style markers."""
    split = [x.splitlines(keepends=True) for x in (base, local, upstream)]
    out: list[bytes] = []
    conflicted = False

    def section(marker: bytes, lines: Lines) -> None:
        out.append(marker)
        out.extend(lines)
        if lines and not lines[-1].endswith(b"\n"):
            out.append(b"\n")

    for kind, a, z, b in _chunks(split[0], split[1], split[2]):
        if kind == "take":
            out.extend(a)
            continue
        conflicted = True
        section(b"<<<<<<< " + labels[0].encode() + b"\n", a)
        section(b"||||||| " + labels[1].encode() + b"\n", z)
        section(b"=======\n", b)
        out.append(b">>>>>>> " + labels[2].encode() + b"\n")
    return MergeResult(b"".join(out), conflicted)


def has_markers(data: bytes) -> bool:
    """True if `data` still holds conflict markers written by a merge."""
    return any(
        line.startswith(b"<<<<<<< ") for line in data.splitlines()
    ) and any(line.startswith(b">>>>>>> ") for line in data.splitlines())
