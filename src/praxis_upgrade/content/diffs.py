"""Unified diffs for plan entries: your change (base to local) and upstream's (base to upstream)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from praxis_upgrade.content import baseline
from praxis_upgrade.content.merge import is_binary
from praxis_upgrade.content.plan import PlanEntry
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import difflib
else:  # heavy: loaded on first use (a dry run shows no diff)
    difflib = lazy_module("difflib")


DIFF_MAX = 2 << 20  # bytes: a bigger file is never read whole to diff it


def _base(entry: PlanEntry, target: Path, repo: SourceRepo) -> bytes | None:
    if entry.base_git_blob:
        try:
            return repo.blob(entry.base_git_blob)
        except Exception:  # not in this clone (shallow, rewritten): the local blob cache has it
            pass
    return baseline.load_blob(target, entry.base_sha) if entry.base_sha else None


def _diff(a: bytes | None, b: bytes | None, a_name: str, b_name: str) -> str:
    if a is None and b is None:
        return ""
    if is_binary(a or b"") or is_binary(b or b""):
        return f"Binary files {a_name} and {b_name} differ\n"
    lines = difflib.unified_diff(
        (a or b"").decode("utf-8", "replace").splitlines(keepends=True),
        (b or b"").decode("utf-8", "replace").splitlines(keepends=True),
        a_name if a is not None else "/dev/null",
        b_name if b is not None else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def conflict_diffs(
    path: str, base: bytes | None, local: bytes | None, upstream: bytes | None
) -> dict[str, str]:
    """A conflict in three versions: ``{"yours": base->local, "upstream": base->upstream}``
    (None for a version that does not exist: an add/add conflict has no base)."""
    return {
        "yours": _diff(base, local, f"base/{path}", f"yours/{path}"),
        "upstream": _diff(base, upstream, f"base/{path}", f"upstream/{path}"),
    }


def _too_big(entry: PlanEntry, size: int) -> dict[str, str]:
    """What is said instead of a line diff of a file too big to read whole."""
    path, said = entry.path, f" (no line diff: {size / (1 << 20):.1f} MiB)\n"
    if entry.is_conflict:
        return {
            "yours": f"Files base/{path} and yours/{path} differ{said}",
            "upstream": f"Files base/{path} and upstream/{path} differ{said}",
        }
    return {"change": f"Files installed/{path} and upstream/{path} differ{said}"}


def entry_diffs(entry: PlanEntry, target: Path, repo: SourceRepo) -> dict[str, str]:
    """``{"yours": base->local, "upstream": base->upstream}`` for conflicts;
    ``{"change": local->upstream}`` else. Files over DIFF_MAX get a line saying they differ."""
    local_path = target / entry.path
    local_size = local_path.stat().st_size if local_path.is_file() else -1
    if max(local_size, entry.size) > DIFF_MAX:
        return _too_big(entry, max(local_size, entry.size))
    local = local_path.read_bytes() if local_size >= 0 else None
    upstream = repo.blob(entry.upstream_git_blob) if entry.upstream_git_blob else None
    if entry.is_conflict:
        return conflict_diffs(entry.path, _base(entry, target, repo), local, upstream)
    return {"change": _diff(local, upstream, f"installed/{entry.path}", f"upstream/{entry.path}")}
