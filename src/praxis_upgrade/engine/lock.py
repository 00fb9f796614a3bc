"""The per-install upgrade lock: an OS lock that dies with its holder, plus who holds it."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.errors import LockedError
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs
from praxis_upgrade.util.clock import now
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import filelock
else:  # heavy: loaded on first use, not at start-up (a dry run takes no lock)
    filelock = lazy_module("filelock")


class UpgradeLock:
    """Guards one upgrade of one install: ``acquire(session_id)`` or a LockedError naming the
    holder, ``retag`` when the holder turns out to be a resumed session, ``release`` at the end.

    The lock itself is ``flock``/``LockFileEx`` through filelock, so the OS drops it when the
    holder dies: a crashed run never blocks the next one. The JSON beside it is informational
    (pid, host, session, start time) for the message a refused run prints.
    """

    def __init__(self, target: Path) -> None:
        store = Store(target)
        self.dir = store.work
        self.path = store.lock
        self.info_path = store.lock_info
        self._lock: filelock.BaseFileLock | None = None

    def acquire(self, session_id: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise self._locked_error() from None
        self._lock = lock
        fs.atomic_write_json(
            self.info_path,
            {
                "pid": os.getpid(),
                "host": platform.node(),
                "session": session_id,
                "started_at": now(),
            },
        )

    def retag(self, session_id: str) -> None:
        """Name the session this holder works on (known only after it picked one)."""
        info = self._info() or {}
        fs.atomic_write_json(self.info_path, {**info, "pid": os.getpid(), "session": session_id})

    def release(self) -> None:
        if self._lock is not None:
            try:
                self.info_path.unlink(missing_ok=True)
            finally:
                self._lock.release()
                self._lock = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock right now, or None when nobody does (stale info is ignored)."""
        if self._lock is not None:
            return self._info()
        if not self.path.exists():
            return None
        probe = filelock.FileLock(str(self.path), timeout=0)
        try:
            probe.acquire()
        except filelock.Timeout:
            return self._info() or {"pid": None}
        probe.release()
        return None

    def _info(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def _locked_error(self) -> LockedError:
        info = self._info() or {}
        who = (
            f"pid {info.get('pid')} on {info.get('host')}, session {info.get('session')}, "
            f"since {info.get('started_at')}"
            if info
            else "another process"
        )
        return LockedError(
            f"another upgrade of this install is running ({who})",
            hint="wait for it to finish, or see `praxis-upgrade status`; the lock frees itself "
            f"when that process ends ({self.path})",
        )
