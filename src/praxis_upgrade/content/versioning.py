"""Which prAxIs OS version an install holds: the baseline, else the free-form VERSION.txt."""

from __future__ import annotations

import re
from pathlib import Path

from praxis_upgrade.content import baseline
from praxis_upgrade.errors import BaselineError

# upstream writes "version_installed=1.4.0", "version=...", or "Current Version: v1.0.0"
_KEYED = re.compile(
    r"^\s*(?:current[ _]version|version(?:_installed)?)\s*[:=]\s*(\S+)", re.I | re.M
)
_BARE = re.compile(r"^\s*(v?\d+\.\d+(?:\.\d+)?[\w.+-]*)\s*$", re.M)


def parse_version_file(text: str) -> str | None:
    """The newest version a VERSION.txt states (the last keyed line wins: lines are appended)."""
    keyed = [m.group(1) for m in _KEYED.finditer(text) if re.match(r"v?\d", m.group(1))]
    if keyed:
        return keyed[-1]
    bare = _BARE.search(text)
    return bare.group(1) if bare else None


def installed_version(target: Path) -> str | None:
    """The installed version: from the baseline, else VERSION.txt, else None (unknown)."""
    try:
        record = baseline.load(target)
    except BaselineError:
        record = None
    if record is not None:
        return record.version
    try:
        return parse_version_file(
            (target / "VERSION.txt").read_text(encoding="utf-8", errors="replace")
        )
    except OSError:
        return None
