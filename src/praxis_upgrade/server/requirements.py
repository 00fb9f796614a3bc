"""Requirement files: the real lines, project names, and whether a venv already satisfies them."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_lines(text: str) -> list[str]:
    """Real requirement lines: no comments, blanks, options (``-r``, ``--index-url``) or ``-e``."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def requirement_names(text: str) -> list[str]:
    """Normalised project names of the real requirement lines."""
    names = []
    for line in requirement_lines(text):
        m = _NAME.match(line)
        if m:
            names.append(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    return names


_SATISFIED = r"""
import re, sys, importlib.metadata as md
try:
    from packaging.requirements import Requirement
except ImportError:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        Requirement = None

def rel(v):
    m = re.match(r"\d+(\.\d+)*$", v)
    if not m:
        raise ValueError(v)
    parts = [int(x) for x in v.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)

def simple_ok(spec, have):
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op, want = re.match(r"(~=|===|==|!=|>=|<=|>|<)\s*(\S+)$", clause).groups()
        if want.endswith(".*"):
            prefix = want[:-2].split(".")
            hit = have.split(".")[:len(prefix)] == prefix
            ok = hit if op == "==" else not hit
        elif op == "~=":
            w = want.split(".")
            ok = rel(have) >= rel(want) and have.split(".")[:len(w) - 1] == w[:-1]
        else:
            a, b = rel(have), rel(want)
            ok = {"==": a == b, "===": have == want, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True

try:
    for line in sys.argv[1:]:
        if Requirement is not None:
            r = Requirement(line)
            if r.marker is not None and not r.marker.evaluate():
                continue
            name, check = r.name, lambda v: r.specifier.contains(v, prereleases=True)
        else:
            m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$", line)
            if m.group(4):
                raise ValueError("marker")
            name, spec = m.group(1), m.group(3)
            check = lambda v: simple_ok(spec, v)
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            print("missing " + name); raise SystemExit
        if not check(have):
            print("mismatch " + name); raise SystemExit
except (ValueError, AttributeError):
    print("unknown"); raise SystemExit
print("ok")
"""


def requirements_satisfied(python: Path, requirements: Path) -> bool:
    """Whether `python`'s environment satisfies every line of `requirements` (False when unsure).

    Evaluated by that interpreter (markers, installed versions) with ``packaging`` (its own or
    pip's vendored copy), or a small fallback for plain ``name<op>version`` lines.
    """
    lines = requirement_lines(requirements.read_text(encoding="utf-8")) if requirements.exists() else []
    try:
        out = subprocess.run([str(python), "-c", _SATISFIED, *lines],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == "ok"
