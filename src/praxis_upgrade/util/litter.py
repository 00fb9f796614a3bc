"""Temp files that a killed atomic write leaves behind (``.<name>.<8 random>.tmp``), and their
removal by whoever holds the install's lock next."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

_OF = re.compile(r"^\.(.+)\.[A-Za-z0-9_]{8}\.tmp$")  # group 1: the name it was written for


def drop_temp_files(folder: Path) -> list[Path]:
    """Remove every atomic-write temp file directly in `folder` (one of this tool's own
    folders, while holding the lock: no write of ours is in flight); returns them."""
    return _drop(folder, _OF.match)


def drop_temp_files_of(paths: Iterable[Path]) -> list[Path]:
    """Remove the temp files a killed atomic write of each of `paths` left beside it (the files
    a step may have been writing), reading each folder once; returns them."""
    names: dict[Path, set[str]] = {}
    for path in paths:
        names.setdefault(path.parent, set()).add(path.name)
    gone = []
    for folder, wanted in names.items():
        gone += _drop(folder, functools.partial(_written_for, wanted))
    return gone


def _written_for(names: set[str], name: str) -> bool:
    """Whether `name` is the temp file of an atomic write of one of `names`."""
    match = _OF.match(name)
    return match is not None and match[1] in names


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
