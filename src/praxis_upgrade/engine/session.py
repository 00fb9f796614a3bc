"""Upgrade sessions and their store: one JSON file per session, rewritten atomically after each
step."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
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
STATUSES = (RUNNING, ROLLING_BACK, COMPLETED, FAILED, ROLLED_BACK)
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
QUARANTINE = "quarantine"
PART_MIN_BYTES = 2048  # results at least this big are saved in a file of their own
PIECE_BYTES = 1 << 16  # a result is encoded, hashed and written this much at a time
_PART = re.compile(r"^[A-Za-z0-9_.-]+\.[0-9a-f]{16}\.json$")
# the saved shape of a session: field -> the JSON types it may hold
_SCHEMA: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "kind": (str,),
    "target": (str,),
    "source": (str, type(None)),
    "options": (dict,),
    "status": (str,),
    "phase": (int,),
    "step": (str,),
    "completed_steps": (list,),
    "results": (dict,),
    "timings": (dict,),
    "error": (str, type(None)),
    "created_at": (str,),
    "updated_at": (str,),
    "pid": (int,),
    "host": (str,),
}
_REQUIRED = ("id", "kind", "target", "options", "status")


def check_schema(data: Any) -> None:
    """Raise ValueError naming the first field of a saved session that has the wrong type."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name in _REQUIRED:
        if name not in data:
            raise ValueError(f"field {name!r} is missing")
    for name, types in _SCHEMA.items():
        if name in data and (
            not isinstance(data[name], types) or isinstance(data[name], bool) and bool not in types
        ):
            raise ValueError(f"field {name!r} is {type(data[name]).__name__}")
    if not _ID.match(data["id"]):
        raise ValueError(f"field 'id' is {data['id']!r}, not a session id")
    if data["status"] not in STATUSES:
        raise ValueError(f"field 'status' is {data['status']!r}")
    if not all(isinstance(s, str) for s in data.get("completed_steps", [])):
        raise ValueError("field 'completed_steps' holds a non-string")
    parts = data.get("parts", {})
    if not isinstance(parts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _PART.match(v) for k, v in parts.items()
    ):
        raise ValueError("field 'parts' does not name result files")


def json_pieces(value: Any, size: int = PIECE_BYTES) -> Iterator[bytes]:
    """The bytes of ``json.dumps(value, sort_keys=True)``, about `size` at a time, never whole."""
    batch: list[str] = []
    held = 0
    for text in _encoded(value, 2):
        batch.append(text)
        held += len(text)
        if held >= size:
            yield "".join(batch).encode()
            batch, held = [], 0
    if batch:
        yield "".join(batch).encode()


def _encoded(value: Any, depth: int) -> Iterator[str]:
    """``json.dumps(value, sort_keys=True)`` in pieces: a list item by item, and a dict with
    string keys (`depth` levels down) key by key; anything else whole."""
    if isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            yield f"{', ' if i else ''}{json.dumps(item, sort_keys=True)}"
        yield "]"
    elif depth and isinstance(value, dict) and all(type(k) is str for k in value):
        yield "{"
        for i, k in enumerate(sorted(value)):
            yield f"{', ' if i else ''}{json.dumps(k)}: "
            yield from _encoded(value[k], depth - 1)
        yield "}"
    else:
        yield json.dumps(value, sort_keys=True)


def _same(digest: str, name: str) -> Callable[[str], None]:
    """A check that the bytes written are the ones the file is named after."""

    def check(written: str) -> None:
        if written != digest:
            raise OSError(f"session result {name} changed while it was being written")

    return check


def new_id() -> str:
    """``YYYYMMDD-HHMMSS-mmmrrr``: the UTC second, its millisecond in hex, 3 random hex digits.
    Ids sort in the order the sessions began, also within one second (history relies on it)."""
    at = dt.datetime.now(dt.timezone.utc)
    return at.strftime("%Y%m%d-%H%M%S-") + f"{at.microsecond // 1000:03x}" + uuid.uuid4().hex[:3]


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
    host: str = dataclasses.field(default_factory=platform.node)

    def to_json(self) -> dict[str, Any]:
        """The session as JSON-ready data. Its containers are new; the step results inside are
        shared, not deep-copied (a plan holds thousands of entries): read them, don't edit."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("options", "results", "timings"):
            data[key] = dict(data[key])
        data["completed_steps"] = list(self.completed_steps)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _corrupt(path: Path, error: Exception) -> StateError:
    """The error for a session file that cannot be read, with the way out."""
    return StateError(
        f"session file {path} is unreadable or corrupt: {error}",
        hint="the next run, resume or rollback moves it aside; its backup (see "
        "`praxis-upgrade backups list`) restores the install exactly with "
        "`praxis-upgrade rollback --to BACKUP`",
    )


def _unchanged(seen: tuple[Any, Any], value: Any) -> bool:
    """``value`` is the very result seen at the last save, with the same top-level objects.
    (The saved snapshot holds them, so no id can have been reused meanwhile.)"""
    was, items = seen
    if value is not was or len(value) != len(items):
        return False
    return all(k in value and value[k] is v for k, v in items)


class SessionStore:
    """Sessions of one install, in ``.praxis-os/.cache/state/praxis-upgrade/``.

    The folder is our own, so the praxis server's workflow sessions in ``.cache/state/`` are
    never read, rewritten or garbage-collected by us.
    """

    def __init__(self, target: Path) -> None:
        self.dir = Store(target).sessions
        self.moved: list[tuple[str, Path, str]] = []  # what `quarantine_damaged` moved aside
        # (session, result key) -> (the result and its top-level items when saved, its file)
        self._parts: dict[tuple[str, str], tuple[tuple[Any, Any], str | None]] = {}

    def path(self, session_id: str) -> Path:
        if not _ID.match(session_id):
            raise StateError(
                f"{session_id!r} is not a session id",
                hint="`praxis-upgrade status` lists the sessions of this install",
            )
        return self.dir / f"{session_id}.json"

    def save(self, session: Session) -> None:
        """Write the session: a small head file, and each big result (the plan, a step's
        decisions) in a file of its own named by its content, written only when it changed.

        A save therefore costs what changed since the last one, not the size of the plan. The
        head is written last and names the exact result files it goes with, so a crash between
        the two leaves the previous state whole; result files no head names any more go after.
        """
        session.updated_at = now()
        head: dict[str, Any] = {
            f.name: getattr(session, f.name)
            for f in dataclasses.fields(Session)
            if f.name != "results"
        }
        small: dict[str, Any] = {}
        parts: dict[str, str] = {}
        folder = self.parts_dir(session.id)
        for key, value in session.results.items():
            name = self._part(session.id, key, value)
            if name is None:
                small[key] = value
            else:
                parts[key] = name
        head["results"], head["parts"] = small, parts
        fs.atomic_write_json(self.path(session.id), head)
        if folder.is_dir():
            for stale in set(os.listdir(folder)) - set(parts.values()):
                if _PART.match(stale):
                    (folder / stale).unlink(missing_ok=True)

    def _part(self, session_id: str, key: str, value: Any) -> str | None:
        """The file holding a big result (written now if it is not on disk), or None for a
        result small enough to stay in the head.

        A result is serialised again only when it changed since the last save, which is when it,
        or a value at its top level, was replaced by another object: the engine and the steps
        replace a result or one of its top-level keys and never edit deeper. (Serialising the
        whole plan on every save was most of a big upgrade's checkpoint cost.)
        """
        folder = self.parts_dir(session_id)
        memo = self._parts.get((session_id, key))
        if memo is not None and _unchanged(memo[0], value):
            name = memo[1]
            if name is None or (folder / name).exists():
                return name
        # encoded piece by piece, twice (to name the file, then to write it): a plan's JSON is
        # tens of MB, and holding it whole (as text, then bytes) was the peak of a big upgrade
        digest, size = hashlib.sha256(), 0
        for piece in json_pieces(value):
            digest.update(piece)
            size += len(piece)
        name = None
        if size >= PART_MIN_BYTES:
            full = digest.hexdigest()
            name = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.{full[:16]}.json"
            if not (folder / name).exists():
                fs.atomic_write_chunks(folder / name, json_pieces(value), check=_same(full, name))
        if isinstance(value, dict):
            self._parts[(session_id, key)] = ((value, tuple(value.items())), name)
        return name

    def parts_dir(self, session_id: str) -> Path:
        """Where a session's big results live (``<id>.d/``)."""
        return self.dir / f"{session_id}.d"

    def remove(self, session_id: str) -> None:
        """Delete a session (its head first, so no half-session is ever read)."""
        self.path(session_id).unlink(missing_ok=True)
        shutil.rmtree(self.parts_dir(session_id), ignore_errors=True)

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
            check_schema(data)
            for key in data.get("parts", {}):
                data["results"][key] = self._read_part(path, data, key)
            return Session.from_json(data)
        except (OSError, ValueError, TypeError) as e:
            raise _corrupt(path, e) from e

    def _read_part(self, path: Path, head: dict[str, Any], key: str) -> Any:
        """One big result of the session whose head file is `path`."""
        part = path.with_name(f"{path.stem}.d") / head["parts"][key]
        return json.loads(part.read_text(encoding="utf-8"))

    def _heads(self) -> list[tuple[Path, dict[str, Any]]]:
        """(file, head) of every session, without its big results (a plan is read only by
        those who need it); StateError for a corrupt head."""
        heads = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                head = json.loads(path.read_text(encoding="utf-8"))
                check_schema(head)
            except (OSError, ValueError, TypeError) as e:
                raise _corrupt(path, e) from e
            heads.append((path, head))
        return heads

    def open_ids(self) -> list[str]:
        """Ids of the sessions still open (running, interrupted, failed with a way back)."""
        return [head["id"] for _path, head in self._heads() if head["status"] in OPEN]

    def finished_backups(self) -> dict[str, str | None]:
        """Session id -> the id of its backup, for every session no longer open."""
        found: dict[str, str | None] = {}
        for path, head in self._heads():
            if head["status"] in OPEN:
                continue
            try:
                backup = (head.get("results") or {}).get("backup")
                if backup is None and "backup" in (head.get("parts") or {}):
                    backup = self._read_part(path, head, "backup")
            except (OSError, ValueError, TypeError, AttributeError) as e:
                raise _corrupt(path, e) from e
            found[head["id"]] = backup.get("id") if isinstance(backup, dict) else None
        return found

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

    def quarantine_damaged(self) -> list[tuple[str, Path, str]]:
        """Move every session file that cannot be read into ``quarantine/`` (with the lock
        held); returns (session id, where it went, why) for each. It no longer blocks anything;
        ``pending_quarantined`` keeps what it may have left half-done in view."""
        moved = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                self._read(path)
            except StateError as e:
                dest = self.dir / QUARANTINE / path.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, dest)
                parts = self.parts_dir(path.stem)
                if parts.is_dir():
                    os.replace(parts, dest.with_name(parts.name))
                moved.append((path.stem, dest, e.message))
        return moved

    def quarantined(self) -> list[str]:
        """Ids of the damaged session files moved aside and not yet resolved."""
        folder = self.dir / QUARANTINE
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def resolve_quarantined(self, session_id: str) -> None:
        """The damaged session's backup was restored: keep its file, but out of the way."""
        path = self.dir / QUARANTINE / f"{session_id}.json"
        if path.exists():
            os.replace(path, path.with_name(path.name + ".resolved"))

    def open_sessions(self) -> list[Session]:
        """The open sessions, whole; closed ones are not read beyond their heads."""
        return [self._read(path) for path, head in self._heads() if head["status"] in OPEN]
