"""Temp files that a killed atomic write leaves behind (``.<name>.<8 random>.tmp``), and their
removal by whoever holds the install's lock next."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

_ANY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def _sibling_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]{{8}}\.tmp$")


def drop_temp_siblings(dest: Path) -> list[Path]:
    """Remove the temp files a killed atomic write of `dest` left beside it; returns them."""
    pattern = _sibling_pattern(dest.name)
    return _drop(dest.parent, pattern.match)


def drop_temp_files(folder: Path) -> list[Path]:
    """Remove every atomic-write temp file directly in `folder` (one of this tool's own
    folders, while holding the lock: no write of ours is in flight); returns them."""
    return _drop(folder, _ANY.match)


def drop_temp_files_of(paths: Iterable[Path]) -> list[Path]:
    """`drop_temp_siblings` for each path (the files a step may have been writing)."""
    return [gone for path in paths for gone in drop_temp_siblings(path)]


def _drop(folder: Path, matches: Callable[[str], object]) -> list[Path]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    gone = []
    for name in names:
        if matches(name):
            path = folder / name
            try:
                path.unlink()
            except OSError:
                continue
            gone.append(path)
    return gone
