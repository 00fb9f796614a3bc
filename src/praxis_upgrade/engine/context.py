"""Options of a run and the context object every hook receives."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

import pluggy

from praxis_upgrade.content.vocab import Policy
from praxis_upgrade.engine.results import as_json
from praxis_upgrade.engine.session import Session, SessionStore
from praxis_upgrade.errors import SourceError
from praxis_upgrade.source.repo import SourceRepo


class _FromJson(Protocol):
    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any: ...


R = TypeVar("R", bound=_FromJson)


@dataclasses.dataclass(frozen=True)
class Options:
    """What the user asked for; names follow the upstream spec where it has one."""

    source_path: str | None = None
    dry_run: bool = False
    auto_restart: bool = True
    skip_tests: bool = False
    keep_backups: int = 3
    keep_venvs: int = 1  # the newest backups that keep the venv they replaced
    validate_timeout: float | None = None  # seconds the server may take to start (None: setting)
    no_downgrade: bool = False  # refuse a downgrade even with --yes (unattended runs)
    conflicts: str = Policy.KEEP_LOCAL  # a Policy value
    assume_yes: bool = False
    rev: str | None = None
    fetch_history: bool = False  # fetch missing history into a shallow clone

    @property
    def interactive_conflicts(self) -> bool:
        return self.conflicts == Policy.PROMPT

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


Event = dict[str, Any]


@dataclasses.dataclass
class Context:
    """Everything a hook may use. Hooks return data; they change the install, not the context.

    Attributes:
        target: the ``.praxis-os`` directory being upgraded.
        options: what the user asked for.
        session: the running session (read it; the engine owns writing it).
        hook: the plugin manager's hook relay, to call other hooks.
        decide: asks the user about one conflict (terminal runs with ``--conflicts prompt``),
            returning ``keep-local`` / ``take-upstream`` / ``merge`` / ``skip``; None otherwise.
        confirm: asked with the plan before anything is written (terminal runs without --yes).
        repo: the source clone (``SourceRepo``), opened on first use and shared by the steps.
    """

    target: Path
    options: Options
    session: Session
    hook: pluggy.HookRelay
    store: SessionStore | None = None
    decide: Callable[[dict[str, Any]], str] | None = None
    events: Callable[[Event], None] | None = None
    confirm: Callable[[dict[str, Any]], bool] | None = None
    _repo: SourceRepo | None = dataclasses.field(default=None, init=False, repr=False)

    @property
    def project(self) -> Path:
        return self.target.parent

    @property
    def source(self) -> Path | None:
        return Path(self.session.source) if self.session.source else None

    @property
    def repo(self) -> SourceRepo:
        """The source clone, opened once per run and shared by the steps (with its one
        `git cat-file` reader). SourceError when the session has no source or it is no clone."""
        source = self.source
        if source is None:
            raise SourceError(
                f"session {self.session.id} has no source clone",
                hint="pass --source PATH_TO_PRAXIS_OS_CLONE",
            )
        if self._repo is None or self._repo.given != source:
            self._repo = SourceRepo(source)
        return self._repo

    @overload
    def result(self, step: str) -> Any: ...

    @overload
    def result(self, step: str, kind: type[R]) -> R | None: ...

    def result(self, step: str, kind: type[R] | None = None) -> Any:
        """The saved result of an earlier step (``"plan"``, ``"backup"``, ...), or None.

        With ``kind`` (e.g. ``PlanResult``) it comes back as that type; without, as saved JSON.
        """
        raw = self.session.results.get(step)
        if kind is None or raw is None:
            return raw
        return kind.from_json(raw)

    def record(self, step: str, result: Any) -> None:
        """Save a step's result (or its partial progress) now, before the step returns.

        A step that has changed files calls this before anything that may still fail, so that a
        rollback knows what the step wrote. The step's return value replaces it when it finishes.
        """
        self.session.results[step] = as_json(result)
        self.checkpoint()

    def checkpoint(self) -> None:
        """Save the session now (long steps call this after a batch of idempotent work)."""
        if self.store is not None:
            self.store.save(self.session)

    def emit(self, kind: str, **data: Any) -> None:
        """Report progress; the CLI shows it on a terminal, ``--json`` hides it."""
        if self.events is not None:
            self.events({"event": kind, **data})
