"""Typed results of the steps: what each step hands the next ones, saved as JSON in the session."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, TypeVar

from praxis_upgrade.content.plan import Plan, PlanEntry

R = TypeVar("R", bound="StepResult")


@dataclasses.dataclass
class StepResult:
    """Base of every step's result. Keys a plugin adds that the type does not name are kept in
    ``extra`` (and written back unchanged), so a replacement plugin may say more than the
    default."""

    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "extra"
        }
        return {**self.extra, **data}

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclasses.dataclass
class PlanResult(StepResult):
    """Step ``plan``: counts by class, the paths the upgrade may touch, and the whole plan.

    ``up_to_date``: the install already is what the upgrade would make it; the run ends after
    the plan ("already up to date") with no backup, session, report or log line.
    """

    up_to_date: bool = False
    summary: dict[str, int] = dataclasses.field(default_factory=dict)
    touched: list[str] = dataclasses.field(default_factory=list)
    outside: list[str] = dataclasses.field(
        default_factory=list
    )  # absolute paths outside the install
    conflicts: list[str] = dataclasses.field(default_factory=list)
    from_version: str | None = None
    to_version: str | None = None
    adopted: bool = False
    adopted_from: str | None = None
    adoption: dict[str, Any] | None = None  # files matched / managed, complete history or not
    downgrade: bool = False  # set by the engine: the target is older than the install
    migration: dict[str, str] | None = None  # {"from": the .agent-os path, "to": .praxis-os}
    space: dict[str, int] = dataclasses.field(default_factory=dict)  # bytes the run will need
    plan: dict[str, Any] = dataclasses.field(default_factory=dict)  # Plan.to_json()

    def entries(self) -> Plan:
        return Plan.from_json(self.plan)

    def head(self) -> Plan:
        """The plan without its entries (versions, commits, owners): see `walk`."""
        return Plan.from_json({k: v for k, v in self.plan.items() if k != "entries"})

    def walk(self) -> Iterator[PlanEntry]:
        """The plan's entries, made one at a time: a caller that goes through them once never
        holds tens of thousands of them."""
        return (PlanEntry.from_json(e) for e in self.plan.get("entries", []))


@dataclasses.dataclass
class MigrateResult(StepResult):
    """Step ``migrate``: an ``.agent-os`` install moved to ``.praxis-os`` (and its references)."""

    moved: bool = False
    source: str | None = None  # the old folder
    target: str | None = None  # the new folder
    written: dict[str, str] = dataclasses.field(default_factory=dict)  # abs path -> sha256
    left: list[str] = dataclasses.field(default_factory=list)  # files the user must edit, and why
    message: str = ""


@dataclasses.dataclass
class BackupResult(StepResult):
    """Step ``backup``: the verified backup that a rollback restores."""

    id: str | None = None
    path: str = ""
    paths: int = 0


@dataclasses.dataclass
class StopResult(StepResult):
    """Step ``server.stop``: what was running and how to start it again."""

    state: str = "not-running"  # "stopped", "not-running", or why it was left alone
    message: str = ""
    captured: dict[str, Any] | None = None  # lifecycle.Captured.to_json() of a stopped server
    stop: dict[str, Any] | None = None


@dataclasses.dataclass
class EnvironmentResult(StepResult):
    """Step ``server.environment``: whether the venv was rebuilt, and what rollback needs."""

    changed: bool = False
    fingerprint: str | None = None
    message: str = ""
    change: dict[str, Any] | None = None  # venv.EnvChange.to_json()
    post_install: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RestartResult(StepResult):
    """Step ``server.restart`` (and the restart after a rollback)."""

    restarted: bool = False
    message: str = ""
    reload_ide: bool = False


@dataclasses.dataclass
class CleanupResult(StepResult):
    """Step ``cleanup``: the version recorded in the new baseline and the backups pruned."""

    baseline: str | None = None
    pruned_backups: list[str] = dataclasses.field(default_factory=list)
    kept_venv: bool = False  # the replaced venv was moved into the backup
    pruned_venvs: list[str] = dataclasses.field(default_factory=list)  # backups that lost theirs


@dataclasses.dataclass
class RollbackResult(StepResult):
    """The rollback: whether everything was restored, and what is left to do by hand."""

    complete: bool = False
    message: str = ""
    restored: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    kept_user_files: list[str] = dataclasses.field(default_factory=list)
    unrestorable: list[str] = dataclasses.field(default_factory=list)
    displaced: list[str] = dataclasses.field(default_factory=list)


def as_json(result: Any) -> Any:
    """A hook's return value as the session stores it (typed results and plain dicts alike).

    A plain dict is stored as a new dict, so a plugin that returns the very dict it read from
    the session (edited inside) is seen as a new result and saved (see `SessionStore._part`).
    """
    plain = _plain(result)
    return dict(plain) if plain is result and isinstance(plain, dict) else plain
