"""The user-level project registry: which projects a source clone's post-merge hook upgrades."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade import store
from praxis_upgrade.errors import StateError, UserError
from praxis_upgrade.util import fs
from praxis_upgrade.util.clock import now
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import filelock
else:  # heavy: loaded on first use, not at start-up (a dry run takes no lock)
    filelock = lazy_module("filelock")

MODES = ("notify", "auto")
FORMAT = 1
KEEP = 20  # notices and auto-run results kept per project


def key(path: str | Path) -> str:
    """The canonical spelling of a project or source path (absolute, symlinks resolved)."""
    return os.path.realpath(os.path.expanduser(str(path)))


@dataclasses.dataclass
class Project:
    """One registered project: where its upgrades come from and what the hook does."""

    project: str
    source: str
    mode: str = "notify"
    python: str = ""
    registered_at: str = ""
    notices: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    auto_runs: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def target(self) -> str:
        return str(Path(self.project) / ".praxis-os")


@dataclasses.dataclass
class Registry:
    """The parsed `projects.json`; `projects` is keyed by canonical project path."""

    path: Path
    projects: dict[str, Project] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "projects": {k: dataclasses.asdict(p) for k, p in sorted(self.projects.items())},
        }

    def save(self) -> None:
        fs.atomic_write_json(self.path, self.to_json())


def _corrupt(path: Path, why: str) -> StateError:
    return StateError(
        f"the project registry {path} is unreadable: {why}",
        hint="fix it by hand, or delete it and run `praxis-upgrade hook install` again "
        f"({store.HOME_ENV} moves it)",
    )


def load() -> Registry:
    """Read the registry; a missing file is an empty registry.

    Raises:
        StateError: the file exists but is not a registry (with a hint how to recover).
    """
    path = store.registry_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Registry(path)
    except OSError as e:
        raise _corrupt(path, e.strerror or str(e)) from e
    try:
        data = json.loads(text)
    except ValueError as e:
        raise _corrupt(path, f"not valid JSON ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("projects"), dict):
        raise _corrupt(path, "no `projects` object")
    fields = {f.name for f in dataclasses.fields(Project)}
    projects = {}
    for name, entry in data["projects"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            raise _corrupt(path, f"bad entry for {name!r}")
        known = {k: v for k, v in entry.items() if k in fields}
        projects[name] = Project(**{**known, "project": name})
    return Registry(path, projects)


@contextlib.contextmanager
def _editing() -> Iterator[Registry]:
    """Load, let the caller change, save; serialised against other processes (hook workers)."""
    path = store.registry_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(path) + ".lock", timeout=30):
        reg = load()
        yield reg
        reg.save()


def register(
    project: str | Path, source: str | Path, mode: str = "notify", *, python: str | None = None
) -> Project:
    """Add or update a project; keeps its notices and auto-run history."""
    if mode not in MODES:
        raise UserError(f"unknown hook mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
    with _editing() as reg:
        name = key(project)
        old = reg.projects.get(name)
        entry = Project(
            project=name,
            source=key(source),
            mode=mode,
            python=python or sys.executable,
            registered_at=old.registered_at if old else now(),
            notices=old.notices if old else [],
            auto_runs=old.auto_runs if old else [],
        )
        reg.projects[name] = entry
    return entry


def unregister(project: str | Path) -> bool:
    """Forget a project; True when it was registered."""
    with _editing() as reg:
        return reg.projects.pop(key(project), None) is not None


def projects_for_source(source: str | Path) -> list[Project]:
    """The projects whose upgrades come from this source clone, by project path."""
    wanted = key(source)
    return [p for _, p in sorted(load().projects.items()) if p.source == wanted]


def record_notice(project: str | Path, source_rev: str) -> None:
    """Remember that `source_rev` is available for `project` (shown by `status`)."""
    with _editing() as reg:
        entry = reg.projects.get(key(project))
        if entry is not None:
            entry.notices = (entry.notices + [{"at": now(), "source_rev": source_rev}])[-KEEP:]


def notices(project: str | Path) -> list[dict[str, Any]]:
    """Update-available notices for `project`, oldest first ([] when unknown)."""
    entry = load().projects.get(key(project))
    return list(entry.notices) if entry else []


def clear_notices(project: str | Path) -> None:
    """Drop the notices once the project is upgraded."""
    with _editing() as reg:
        entry = reg.projects.get(key(project))
        if entry is not None:
            entry.notices = []


def record_auto_run(project: str | Path, log: str | Path, exit_code: int) -> None:
    """Remember the outcome of a background upgrade the hook started."""
    with _editing() as reg:
        entry = reg.projects.get(key(project))
        if entry is not None:
            run = {"at": now(), "log": str(log), "exit_code": exit_code}
            entry.auto_runs = (entry.auto_runs + [run])[-KEEP:]


def auto_runs(project: str | Path) -> list[dict[str, Any]]:
    """Background upgrade results for `project`, oldest first."""
    entry = load().projects.get(key(project))
    return list(entry.auto_runs) if entry else []
