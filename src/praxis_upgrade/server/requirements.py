"""Requirement files: the real lines, project names, and whether a venv already satisfies them."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import packaging
from packaging.version import Version

from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    from packaging import requirements as pep508
    from packaging import utils as pkg_utils
else:  # heavy: loaded on first use, not at start-up (a dry run never uses it)
    pep508 = lazy_module("packaging.requirements")
    pkg_utils = lazy_module("packaging.utils")


def requirement_lines(text: str) -> list[str]:
    """Real requirement lines: no comments, blanks, options (``-r``, ``--index-url``) or ``-e``."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def parse_requirement(line: str) -> pep508.Requirement | None:
    """The PEP 508 requirement of a line, without pip's per-line options (``--hash``) or ``\\``."""
    spec = re.split(r"\s-", line, maxsplit=1)[0].rstrip("\\").strip()
    try:
        return pep508.Requirement(spec)
    except pep508.InvalidRequirement:
        return None  # a URL or a local path: no project name to read


def requirement_names(text: str) -> list[str]:
    """Normalised project names of the real requirement lines."""
    return [
        pkg_utils.canonicalize_name(req.name)
        for req in map(parse_requirement, requirement_lines(text))
        if req
    ]


# Run by the venv's interpreter: its import path, and its marker environment computed by
# `packaging` (the venv's own copy, else ours, put last on its path).
_PROBE = (
    "import json, sys\n"
    "path = [p for p in sys.path if p]\n"
    "sys.path.append(sys.argv[1])\n"
    "from packaging.markers import default_environment\n"
    "print(json.dumps({'path': path, 'environment': default_environment()}))\n"
)


def _probe(python: Path) -> dict[str, Any] | None:
    """``{"path": [...], "environment": {...}}`` of `python`'s environment, or None."""
    ours = str(Path(packaging.__file__).parent.parent)
    try:
        out = subprocess.run(
            [str(python), "-c", _PROBE, ours], capture_output=True, text=True, timeout=60
        )
        found = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _installed_version(name: str, path: list[str]) -> str | None:
    """The version importlib.metadata finds first for `name` along `path` (the venv's sys.path)."""
    dist = next(iter(importlib.metadata.distributions(name=name, path=path)), None)
    return dist.version if dist else None


def _satisfied(line: str, probe: dict[str, Any]) -> bool:
    """Whether one requirement line holds in the probed environment (False when unsure)."""
    try:
        req = pep508.Requirement(line)
        if req.marker is not None and not req.marker.evaluate(probe["environment"]):
            return True
        have = _installed_version(req.name, probe["path"])
        return have is not None and req.specifier.contains(Version(have), prereleases=True)
    except ValueError:  # not a PEP 508 line, an unknown marker variable, a non-PEP 440 version
        return False


def requirements_satisfied(python: Path, requirements: Path) -> bool:
    """Whether `python`'s environment satisfies every line of `requirements` (False when unsure).

    That interpreter reports its import path and marker environment; the installed versions are
    read from that path with ``importlib.metadata`` and checked with ``packaging``.
    """
    lines = (
        requirement_lines(requirements.read_text(encoding="utf-8")) if requirements.exists() else []
    )
    probe = _probe(python)
    return probe is not None and all(_satisfied(line, probe) for line in lines)
