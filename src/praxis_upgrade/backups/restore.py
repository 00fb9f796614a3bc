"""Exact restore from a backup: put back what it holds, remove what the upgrade added, keep user
work."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from praxis_upgrade.backups.manifest import (
    BACKUPS,
    Backup,
    Entry,
    check_entry,
    read_manifest,
    verify_backup,
)
from praxis_upgrade.errors import BackupError, PathEscapeError, PraxisError
from praxis_upgrade.store import same_install
from praxis_upgrade.util import durable, fs, litter

Progress = Callable[[int, int, str], None]  # (done, total, path just handled)


@dataclasses.dataclass
class RestoreReport:
    """What a restore did. `unrestorable` entries say how to finish by hand; `verified` is the
    final check."""

    restored: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    kept_user_files: list[str] = dataclasses.field(default_factory=list)
    unrestorable: list[str] = dataclasses.field(default_factory=list)
    verified: bool = False
    unchanged: list[str] = dataclasses.field(default_factory=list)
    displaced: list[str] = dataclasses.field(
        default_factory=list
    )  # user edits saved beside the restored file

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestoreReport:
        return cls(**data)


@dataclasses.dataclass
class _Item:
    label: str  # target-relative path, or absolute path for files outside the install
    dest: Path
    entry: Entry | None  # None: the path was absent when the backup was made
    root: Path | None = None  # the install, for paths inside it
    keep_dir: Path | None = None
    project: Path | None = None  # the project folder, for paths outside the install


def restore_backup(
    target: Path,
    backup: Backup,
    *,
    added_shas: dict[str, str] | None = None,
    force: bool = False,
    keep: Iterable[str] = (),
    progress: Progress | None = None,
) -> RestoreReport:
    """Make every path the backup recorded exactly as it was; touch nothing else.

    Files present at backup time are copied back (atomically, with their mode) unless already equal,
    so running it again after a crash finishes the job. Paths absent at backup time are removed
    only when their sha256 equals `added_shas[path]` (what the upgrade wrote); anything else there
    is the user's and is kept and reported. `added_shas` may also name files the upgrade changed:
    such a file whose content is now neither the backup's nor the upgrade's (a user edit made
    meanwhile) is saved beside it as `<name>.praxis-rollback-<backup id>` before the backup's
    version goes back. Install-relative paths in `keep` are left as they are, whatever the
    backup holds for them.

    Raises:
        BackupError: the backup is for another install, or fails verification (unless `force`:
            then damaged copies are skipped and listed as unrestorable).
    """
    problems = verify_backup(backup.path)
    if (backup.target is None or not same_install(backup.target, target)) and not force:
        raise BackupError(
            f"backup {backup.id} was made for {backup.target}, not for {os.path.realpath(target)}",
            hint="restore it into the install it came from",
        )
    if problems and not force:
        raise BackupError(
            f"backup {backup.id} failed verification; refusing to restore from it:\n  "
            + "\n  ".join(problems[:20]),
            hint="choose another backup, "
            "or pass --force to restore only the files that still verify",
        )
    try:
        manifest = read_manifest(backup.path)
    except BackupError as e:
        raise BackupError(
            f"backup {backup.id} cannot be restored: {e.message}", hint=e.hint
        ) from None
    project, dirs = target.parent, manifest.keep_dirs
    # removals first, so a file can come back where the upgrade had put a directory (and vice versa)
    items = [
        _Item(rel, target / rel, None, target, _keep_dir(dirs, rel, target / rel, target))
        for rel in manifest.absent
    ]
    items += [
        _Item(p, Path(p), None, None, _keep_dir(dirs, p, Path(p), project), project)
        for p in manifest.outside_absent
    ]
    items += [_Item(rel, target / rel, e, target) for rel, e in manifest.files.items()]
    items += [_Item(p, Path(p), e, project=project) for p, e in manifest.outside.items()]
    kept = set(keep)
    items = [item for item in items if item.root is None or item.label not in kept]
    report, failed = RestoreReport(), set()
    # each file is replaced atomically at once; one sync at the end makes them all durable (a
    # rollback that did not finish is run again, and puts back whatever a power cut lost)
    copies = fs.Confined(backup.path)  # the backup is only read: its folders resolved once
    litter.drop_temp_files_of(item.dest for item in items)  # what a killed restore left
    with durable.batch(root=target) as batch:
        for done, item in enumerate(items, 1):
            try:
                _restore_one(item, copies, backup, added_shas, bool(problems), report, batch)
            except (OSError, PraxisError) as e:
                failed.add(item.label)
                report.unrestorable.append(_how_to_finish(item, backup, str(e)))
            if progress is not None:
                progress(done, len(items), item.label)
    report.verified = _verify(items, backup, report, failed) and not report.unrestorable
    return report


def _keep_dir(keep_dirs: dict[str, str], label: str, dest: Path, bound: Path) -> Path | None:
    """The folder up to which a removal may take emptied folders: the recorded one when it holds
    `dest` and lies within `bound` (the install, or the project); else None: none is taken."""
    keep = keep_dirs.get(label)
    if keep is None or not os.path.isabs(keep) or not _within(str(dest), keep):
        return None
    return Path(keep) if _same(keep, str(bound)) or _within(keep, str(bound)) else None


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _within(path: str, folder: str) -> bool:
    """Whether `path` lies strictly inside `folder`, by their real paths and as written."""
    for p, f in (
        (os.path.abspath(path), os.path.abspath(folder)),
        (os.path.realpath(path), os.path.realpath(folder)),
    ):
        if p != f and os.path.commonpath([p, f]) == f:
            return True
    return False


def _unsafe_path(item: _Item) -> str | None:
    """Why `item`'s path is not one a restore may touch (only a damaged or hand-edited manifest
    names such a path), or None. Install paths stay in the install, symlinked folders
    included; paths outside it stay in the project."""
    label = item.label
    if item.root is not None:
        if label in ("", ".") or Path(label).parts[:1] == (BACKUPS,):
            return f"it names {label!r}, not a file of the install"
        try:
            fs.inside(item.root, label, follow_last=False)
        except PathEscapeError:
            return "its path leads outside the install"
        return None
    assert item.project is not None
    if not os.path.isabs(label) or ".." in Path(label).parts:
        return "its path is not an absolute one in the project"
    if not _within(label, str(item.project)):
        return "its path lies outside the project"
    return None


def _unsafe_copy(item: _Item, copies: fs.Confined) -> str | None:
    """Why `item`'s stored copy cannot be read (it would be read from outside the backup)."""
    if item.entry is None:
        return None
    try:
        copies(item.entry.stored, follow_last=False)
    except PathEscapeError:
        return "its copy would be read from outside the backup"
    return None


def _restore_one(
    item: _Item,
    copies: fs.Confined,
    backup: Backup,
    added: dict[str, str] | None,
    check: bool,
    report: RestoreReport,
    batch: durable.Batch,
) -> None:
    """Put one recorded path back as the backup holds it (or remove what the upgrade added)."""
    if why := _unsafe_path(item) or _unsafe_copy(item, copies):
        raise BackupError(f"the backup's record of it is damaged: {why}")
    if item.entry is None:
        _remove_added(item, added, report)
        return
    entry, dest = item.entry, item.dest
    # a stored link is itself, never followed
    stored = copies(entry.stored, follow_last=False)
    now = _state(dest)
    if now == _wanted(entry):
        report.unchanged.append(item.label)
        return
    if check and (why := check_entry(stored, entry)):
        raise BackupError(f"the backup copy is damaged: {why}")
    if entry.kind == "file" and now[:2] == ("file", entry.sha256):
        os.chmod(dest, entry.mode)
        report.restored.append(item.label)
        return
    # neither what was backed up nor what the upgrade wrote: someone else changed it (the user,
    # after the backup) - keep their bytes beside the file before the backup's version goes back
    if added is not None and now[0] == "file" and added.get(item.label) != now[1]:
        aside = dest.with_name(f"{dest.name}.praxis-rollback-{backup.id}")
        fs.atomic_copy(dest, aside, batch=batch)
        report.displaced.append(str(aside))
    if now[0] == "dir":
        dest.rmdir()  # only an empty directory goes; a full one raises and is reported
    if entry.kind == "symlink":
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
        os.symlink(entry.link, tmp)
        os.replace(tmp, dest)
        batch.changed(dest.parent)
    else:
        fs.atomic_copy(stored, dest, mode=entry.mode, batch=batch)
        fs.drop_bytecode(dest)
    report.restored.append(item.label)


def _remove_added(item: _Item, added: dict[str, str] | None, report: RestoreReport) -> None:
    now = _state(item.dest)
    if now[0] == "absent":
        return
    if now[0] == "file" and added is not None and added.get(item.label) == now[1]:
        item.dest.unlink()
        fs.drop_bytecode(item.dest)
        report.removed.append(item.label)
        if item.keep_dir is not None:  # folders the upgrade made go, bytecode and all
            fs.remove_dirs_left_with_bytecode(item.dest.parent, item.keep_dir)
        return
    report.kept_user_files.append(item.label)


def _state(path: Path) -> tuple[Any, ...]:
    try:
        st = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return ("absent",)
    if stat.S_ISLNK(st.st_mode):
        return ("symlink", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ("dir",)
    if stat.S_ISREG(st.st_mode):
        return ("file", fs.sha256_file(path), stat.S_IMODE(st.st_mode))
    return ("other",)


def _wanted(entry: Entry) -> tuple[Any, ...]:
    return (
        ("symlink", entry.link) if entry.kind == "symlink" else ("file", entry.sha256, entry.mode)
    )


def _verify(items: list[_Item], backup: Backup, report: RestoreReport, failed: set[str]) -> bool:
    kept = set(report.kept_user_files)
    ok = True
    for item in items:
        if item.label in failed:
            continue
        if item.entry is None:
            good = item.label in kept or _state(item.dest)[0] == "absent"
        else:
            good = _state(item.dest) == _wanted(item.entry)
        if not good:
            ok = False
            report.unrestorable.append(
                _how_to_finish(item, backup, "still differs from the backup after restoring")
            )
    return ok


def _shown(text: str) -> str:
    """`text` as one line a terminal shows as it is: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _how_to_finish(item: _Item, backup: Backup, why: str) -> str:
    """One line of the report: what went wrong, and the command that finishes it by hand.

    The command is built only from paths confined to the install (or the project) and to the
    backup, each quoted; an entry of a damaged manifest gets no command at all."""
    label = item.label if item.label.isprintable() else repr(item.label)
    said = f"{label}: {_shown(why)}"
    if _unsafe_path(item) or _unsafe_copy(item, fs.Confined(backup.path)):
        return f"{said}; no command can finish it by hand: take it from another backup"
    command = _finish_command(item, backup)
    if command is None:
        return f"{said}; its name holds characters a terminal cannot show: finish it by hand"
    return f"{said}; to finish by hand{command}"


def _finish_command(item: _Item, backup: Backup) -> str | None:
    """`: cp -p -- SOURCE DEST` (or the `ln`, or `rm`, command), every path quoted; None when a
    path holds characters a terminal cannot show (the line would not say what it runs)."""
    entry, paths = item.entry, [str(item.dest)]
    if entry is not None:
        paths.insert(0, entry.link if entry.kind == "symlink" else str(backup.path / entry.stored))
    if not all(p.isprintable() for p in paths):
        return None
    quoted = " ".join(shlex.quote(p) for p in paths)
    if entry is None:
        return f", check it and remove it: rm -- {quoted}"
    return f": {'ln -sfn' if entry.kind == 'symlink' else 'cp -p'} -- {quoted}"
