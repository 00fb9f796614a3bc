"""Timestamps as this tool writes them: UTC, ISO 8601."""

from __future__ import annotations

import datetime as dt


def now() -> str:
    """The current UTC time to the second (sessions, settings, the registry, the lock)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def utcnow() -> str:
    """The current UTC time to the microsecond (backups, whose order must be exact)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
