"""Upgrade sessions and their store: one JSON file per session, rewritten atomically after each
step."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import socket
import uuid
from pathlib import Path
from typing import Any

from praxis_upgrade.errors import StateError
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs
from praxis_upgrade.util.clock import now

RUNNING = "running"
INTERRUPTED = "interrupted"  # derived: "running" on disk, but nobody holds the lock
ROLLING_BACK = "rolling_back"
COMPLETED = "completed"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
OPEN = (RUNNING, ROLLING_BACK)
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def new_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


@dataclasses.dataclass
class Session:
    """One upgrade (or dry run, or manual rollback) of one target."""

    id: str
    kind: str  # "upgrade" | "rollback"
    target: str
    source: str | None
    options: dict[str, Any]
    status: str = RUNNING
    phase: int = 0
    step: str = ""
    completed_steps: list[str] = dataclasses.field(default_factory=list)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    error: str | None = None
    created_at: str = dataclasses.field(default_factory=now)
    updated_at: str = dataclasses.field(default_factory=now)
    pid: int = dataclasses.field(default_factory=os.getpid)
    host: str = dataclasses.field(default_factory=socket.gethostname)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class SessionStore:
    """Sessions of one install, in ``.praxis-os/.cache/state/praxis-upgrade/``.

    The folder is our own, so the praxis server's workflow sessions in ``.cache/state/`` are
    never read, rewritten or garbage-collected by us.
    """

    def __init__(self, target: Path) -> None:
        self.dir = Store(target).sessions

    def path(self, session_id: str) -> Path:
        if not _ID.match(session_id):
            raise StateError(
                f"{session_id!r} is not a session id",
                hint="`praxis-upgrade status` lists the sessions of this install",
            )
        return self.dir / f"{session_id}.json"

    def save(self, session: Session) -> None:
        session.updated_at = now()
        fs.atomic_write_json(self.path(session.id), session.to_json())

    def load(self, session_id: str) -> Session:
        path = self.path(session_id)
        if not path.exists():
            raise StateError(
                f"no session {session_id} in {self.dir}",
                hint="`praxis-upgrade status` lists the sessions of this install",
            )
        return self._read(path)

    def _read(self, path: Path) -> Session:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return Session.from_json(data)
        except (OSError, ValueError, TypeError) as e:
            raise StateError(
                f"session file {path} is unreadable or corrupt: {e}",
                hint="move it aside to start over; "
                "its backup (if any) is under .praxis-os/.backups/",
            ) from e

    def all(self) -> list[Session]:
        """Every session, oldest first. Corrupt files raise StateError naming the file."""
        if not self.dir.is_dir():
            return []
        return sorted((self._read(p) for p in self.dir.glob("*.json")), key=lambda s: s.id)

    def readable(self) -> tuple[list[Session], list[tuple[Path, str]]]:
        """Every session that can be read, and (path, problem) for those that cannot."""
        good, bad = [], []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                good.append(self._read(path))
            except StateError as e:
                bad.append((path, e.message))
        return good, bad

    def open_sessions(self) -> list[Session]:
        return [s for s in self.all() if s.status in OPEN]
