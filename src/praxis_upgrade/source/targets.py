"""Finding the install to upgrade and the source to upgrade it from (remembered per install)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from praxis_upgrade import store
from praxis_upgrade.errors import SourceError, TargetError
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs

MARKERS = ("standards", "workflows", "mcp_server")


def find_install(start: Path) -> Path | None:
    """The nearest ``.praxis-os`` at or above ``start`` (which may be the folder itself), or an
    install made before the rename (``.agent-os``), which the upgrade migrates."""
    start = start.resolve()
    if start.name in (store.DOT_DIR, store.LEGACY_DOT_DIR) and start.is_dir():
        return start
    for folder in (start, *start.parents):
        for name in (store.DOT_DIR, store.LEGACY_DOT_DIR):
            if (folder / name).is_dir():
                return folder / name
    return None


def require_install(start: Path) -> Path:
    """``start`` resolved to a real install's ``.praxis-os``, or TargetError with a hint."""
    start = start.expanduser()
    if not start.exists():
        raise TargetError(
            f"{start} does not exist",
            hint="pass --target PROJECT_DIR (the folder holding .praxis-os)",
        )
    if not start.is_dir():
        raise TargetError(
            f"{start} is a file, not a folder",
            hint="pass --target PROJECT_DIR (the folder holding .praxis-os), not a file in it",
        )
    named = start.name in (store.DOT_DIR, store.LEGACY_DOT_DIR)
    praxis = start.resolve() if named else find_install(start)
    if praxis is None:
        raise TargetError(
            f"no .praxis-os install found at or above {start}",
            hint="run inside your project, pass --target PROJECT_DIR, or install first with "
            "`praxis-upgrade install --source PATH`",
        )
    if not praxis.is_dir() or not any((praxis / m).is_dir() for m in MARKERS):
        raise TargetError(
            f"{praxis} is not a prAxIs OS install (it has none of {', '.join(MARKERS)})",
            hint="point --target at a project where prAxIs OS is installed",
        )
    return praxis


def settings(praxis: Path) -> dict[str, Any]:
    """The install's settings (``.praxis-upgrade/settings.json``): ``source``, the remembered
    source clone, and ``validate_timeout``, seconds the server may take to start; ``{}`` when
    there are none or the file is unreadable."""
    try:
        data = json.loads(Store(praxis).settings.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_settings(praxis: Path, **changes: Any) -> dict[str, Any]:
    """Set (a value) or remove (``None``) settings, keeping the others; returns them all."""
    data = settings(praxis)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    fs.atomic_write_json(Store(praxis).settings, data)
    return data


def remembered_source(praxis: Path) -> Path | None:
    source = settings(praxis).get("source")
    return Path(source) if isinstance(source, str) and source else None


def remember_source(praxis: Path, source: Path) -> None:
    update_settings(praxis, source=str(source))


def resolve_source(praxis: Path, given: Path | str | None) -> Path:
    """The source clone to use: the one given, else the one remembered from the last run."""
    if given is None:
        remembered = remembered_source(praxis)
        if remembered is None:
            raise SourceError(
                "no source given and none remembered for this install",
                hint="pass --source PATH_TO_PRAXIS_OS_CLONE "
                "(it is remembered after a successful run)",
            )
        given = remembered
    source = Path(given).expanduser().resolve()
    if source.exists() and not source.is_dir():
        raise SourceError(
            f"source {source} is a file, not a folder",
            hint="pass --source PATH_TO_PRAXIS_OS_CLONE (the clone's folder, not a file in it)",
        )
    if not source.is_dir():
        raise SourceError(
            f"source {source} does not exist", hint="pass --source PATH_TO_PRAXIS_OS_CLONE"
        )
    if not (source / "universal").is_dir() or not (source / "mcp_server").is_dir():
        raise SourceError(
            f"{source} is not a praxis-os source clone (it needs universal/ and mcp_server/)",
            hint="clone the praxis-os repository and pass its path with --source",
        )
    return source
