"""Backups over time: list and find them, mark the good ones, prune old ones, budget disk space."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from praxis_upgrade.backups.create import expand_paths
from praxis_upgrade.backups.manifest import BACKUPS, GOOD, ID_RE, MIB, Backup
from praxis_upgrade.errors import BackupError, PreflightError
from praxis_upgrade.store import same_install
from praxis_upgrade.util import fs
from praxis_upgrade.util.clock import utcnow

STALE_SECONDS = 3600  # an incomplete backup older than this is a crash leftover
_TRASH = ".deleting-"


def list_backups(target: Path) -> list[Backup]:
    """Every backup folder of `target`, newest first, complete or not (see `Backup.complete`)."""
    root = target / BACKUPS
    if not root.is_dir():
        return []
    found = [
        Backup.load(p)
        for p in root.iterdir()
        if ID_RE.match(p.name) and p.is_dir() and not p.is_symlink()
    ]
    return sorted(found, key=_order, reverse=True)


def _order(backup: Backup) -> tuple[str, int]:
    """Creation time, then the ``-N`` suffix of backups made in the same second."""
    match = ID_RE.match(backup.id)
    return backup.created_at, int(match.group(1) or 1) if match else 1


def _available(target: Path) -> str:
    ids = [b.id for b in list_backups(target) if b.complete]
    if not ids:
        return f"there are no complete backups in {target / BACKUPS}"
    return (
        "available: "
        + ", ".join(ids[:5])
        + (" ..." if len(ids) > 5 else "")
        + " (`praxis-upgrade backups list`)"
    )


def find_backup(target: Path, backup_id: str) -> Backup:
    """The complete backup `backup_id` of `target`.

    Raises:
        BackupError: unknown id, incomplete backup, or a backup made for another install.
    """
    if not ID_RE.match(backup_id or ""):
        raise BackupError(
            f"{backup_id!r} is not a backup id",
            hint="ids look like 2026-01-31-120000; " + _available(target),
        )
    folder = target / BACKUPS / backup_id
    if not folder.is_dir():
        raise BackupError(
            f"there is no backup {backup_id} in {target / BACKUPS}", hint=_available(target)
        )
    found = Backup.load(folder)
    if not found.complete:
        raise BackupError(
            f"backup {backup_id} is incomplete (interrupted while being made) and cannot be used",
            hint=_available(target),
        )
    if found.target is None or not same_install(found.target, target):
        raise BackupError(
            f"backup {backup_id} was made for {found.target}, not for {os.path.realpath(target)}",
            hint="restore it into the install it came from; "
            "a copied or moved project needs a fresh upgrade",
        )
    return found


def latest_backup(target: Path) -> Backup:
    """The newest complete backup of `target`. Raises BackupError when there is none."""
    for found in list_backups(target):
        if found.complete and found.target is not None and same_install(found.target, target):
            return found
    raise BackupError(f"there is no backup of {target} to roll back to", hint=_available(target))


def mark_good(backup: Backup) -> None:
    """Record that the upgrade this backup was made for completed (retention never drops the last
    good one)."""
    if not Backup.load(backup.path).complete:  # the disk decides, not a stale object
        raise BackupError(f"backup {backup.id} is incomplete and cannot be marked good")
    fs.atomic_write_json(backup.path / GOOD, {"at": utcnow()})
    backup.good = True


def space_needed(target: Path, paths: Iterable[str], *, write_bytes: int) -> int:
    """Bytes a backup of `paths` plus `write_bytes` of new content will take (without margin)."""
    total = write_bytes
    for rel in expand_paths(target, paths):
        try:
            total += (target / rel).lstat().st_size + 256  # + manifest and directory overhead
        except (FileNotFoundError, NotADirectoryError):
            total += 64
    return total


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_space(
    folder: Path,
    needed: int,
    *,
    detail: str = "",
    free_bytes: Callable[[Path], int] = _free_bytes,
) -> None:
    """Refuse to start when `folder`'s disk lacks `needed` bytes plus a margin of 10% + 1 MiB;
    `detail` says what the bytes are for.

    Raises:
        PreflightError: not enough space; the message names both numbers and the folder.
    """
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    required = needed + needed // 10 + MIB
    free = free_bytes(existing)
    if free < required:
        msg = (
            f"not enough disk space in {folder}: the upgrade needs {_fmt(required)} "
            f"({_fmt(needed)} plus a 10% + 1 MiB margin) but only {_fmt(free)} is free"
            + (f"; {detail}" if detail else "")
        )
        raise PreflightError(
            msg,
            hint=f"free at least {_fmt(required - free)} on that disk "
            "(old backups: `praxis-upgrade backups prune`)",
            problems=[msg],
        )


def fmt_bytes(n: int) -> str:
    """A size for people: MiB with one decimal, and the exact bytes."""
    return f"{n / MIB:.1f} MiB ({n:,} bytes)"


_fmt = fmt_bytes


def prune_backups(
    target: Path, keep: int, *, protect: Iterable[str] = (), stale_seconds: float = STALE_SECONDS
) -> list[str]:
    """Remove old and leftover backups of `target`; return the removed ids, newest first.

    Keeps the newest `keep` complete backups, the newest one marked good (the last upgrade that
    completed) and every backup whose id or session id is in `protect` (open sessions). Incomplete
    backups are removed unless protected and younger than `stale_seconds`.

    Raises:
        BackupError: `keep` is negative, or a backup folder could not be removed.
    """
    if keep < 0:
        raise BackupError(f"cannot keep {keep} backups", hint="use 0 or more")
    protected = set(protect)
    found = list_backups(target)
    complete = [b for b in found if b.complete]
    keep_ids = {b.id for b in complete[:keep]}
    last_good = next((b for b in complete if b.good), None)
    if last_good is not None:
        keep_ids.add(last_good.id)
    now = dt.datetime.now(dt.timezone.utc)
    removed = []
    for backup in found:
        guarded = backup.id in protected or (
            backup.session is not None and backup.session in protected
        )
        if backup.complete:
            drop = backup.id not in keep_ids and not guarded
        else:
            drop = not guarded or _age(backup, now) > stale_seconds
        if drop:
            _remove(backup.path)
            removed.append(backup.id)
    _empty_trash(target / BACKUPS)
    return removed


def drop_unfinished(target: Path, session_id: str) -> list[str]:
    """Remove the backups session `session_id` started but never finished (a kill while it was
    being made); its finished backup stays. Returns the removed ids."""
    left = [b for b in list_backups(target) if not b.complete and b.session == session_id]
    for backup in left:
        _remove(backup.path)
    return [b.id for b in left]


def prune_kept_venvs(target: Path, keep: int) -> list[str]:
    """Delete the venvs kept in backups of `target` beyond the newest `keep`; return the ids of
    the backups that lost theirs (their files stay; rolling back to them rebuilds the venv)."""
    if keep < 0:
        raise BackupError(f"cannot keep {keep} venvs", hint="use 0 or more")
    holding = [b for b in list_backups(target) if b.complete and b.kept_venv.is_dir()]
    for backup in holding[keep:]:
        _remove(backup.kept_venv)
    _empty_trash(target / BACKUPS)
    return [b.id for b in holding[keep:]]


def _age(backup: Backup, now: dt.datetime) -> float:
    try:
        return (now - dt.datetime.fromisoformat(backup.created_at)).total_seconds()
    except ValueError:
        return float("inf")


def _remove(folder: Path) -> None:
    # rename first: an interrupted removal never leaves a half-deleted folder that looks like a
    # backup
    trash = folder.with_name(_TRASH + folder.name)
    try:
        if trash.exists():
            shutil.rmtree(trash)
        os.rename(folder, trash)
        shutil.rmtree(trash)
    except OSError as e:
        raise BackupError(
            f"could not remove the old backup {folder}: {e.strerror or e}",
            hint=f"remove it by hand: rm -rf '{trash if trash.exists() else folder}'",
        ) from e


def _empty_trash(root: Path) -> None:
    if root.is_dir():
        for leftover in root.glob(_TRASH + "*"):
            shutil.rmtree(leftover, ignore_errors=True)


def last_good(praxis: Path) -> Backup | None:
    """The backup taken before the newest successful upgrade, if it is still there."""
    return next((b for b in list_backups(praxis) if b.complete and b.good), None)
