"""Merge praxis-upgrade's tasks into a project's `.vscode/tasks.json` without losing the user's."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

from praxis_upgrade.errors import UserError
from praxis_upgrade.integrations import jsonc
from praxis_upgrade.util import fs


def shipped() -> dict[str, Any]:
    """Our tasks and inputs, as shipped in `integrations/vscode/tasks.json`."""
    text = (
        resources.files("praxis_upgrade")
        .joinpath("resources")
        .joinpath("vscode-tasks.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def labels() -> list[str]:
    return [t["label"] for t in shipped()["tasks"]]


@dataclasses.dataclass
class TasksChange:
    """What install/uninstall did to `.vscode/tasks.json`, for the CLI to report."""

    path: Path
    added: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    inputs: list[str] = dataclasses.field(
        default_factory=list
    )  # input ids added, updated or removed
    backup: Path | None = None
    comments_dropped: bool = False  # True: the file had comments we could not keep

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.inputs)


def tasks_path(project: Path) -> Path:
    return project / ".vscode" / "tasks.json"


def _read(path: Path) -> jsonc.Document | None:
    """The parsed file, None when absent or blank; refuses what we cannot edit safely."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path}: {e}", hint="fix the file, then rerun") from e
    if not text.strip():
        return None
    try:
        doc = jsonc.parse(text)
    except jsonc.JsoncError as e:
        raise UserError(
            f"{path} is not valid JSON with comments: {e}; left it untouched",
            hint="fix that spot (VS Code underlines it), then rerun",
        ) from e
    if not isinstance(doc.data, dict):
        raise UserError(
            f"{path} is not a JSON object; left it untouched", hint="fix the file, then rerun"
        )
    for key in ("tasks", "inputs"):
        if key in doc.data and not isinstance(doc.data[key], list):
            raise UserError(
                f"`{key}` in {path} is not a list; left it untouched",
                hint="fix the file, then rerun",
            )
    return doc


def _merge(
    items: list[Any], ours: list[dict[str, Any]], field: str
) -> tuple[dict[int, Any], list[Any]]:
    """Which existing entries to replace (by index) and which to append, matched on `field`."""
    index = {it.get(field): i for i, it in enumerate(items) if isinstance(it, dict)}
    replace, append = {}, []
    for entry in ours:
        i = index.get(entry[field])
        if i is None:
            append.append(entry)
        elif items[i] != entry:
            replace[i] = entry
    return replace, append


def _edit(doc: jsonc.Document, edit: dict[str, tuple[dict[int, Any], list[Any], set[int]]]) -> str:
    """Apply per-array edits (replace, append, remove) to the text, one at a time."""
    text = doc.text
    for key, (replace, append, remove) in edit.items():
        for step in ("remove", "replace", "append"):
            current = jsonc.parse(text)
            if key not in current.members:
                if append:
                    text = jsonc.add_member(current, key, append)
                break
            if step == "remove" and remove:
                text = jsonc.remove_items(current, key, remove)
            elif step == "replace" and replace:
                text = jsonc.replace_items(current, key, replace)
            elif step == "append" and append:
                text = jsonc.append_items(current, key, append)
    return text


def _write(
    path: Path,
    doc: jsonc.Document | None,
    expected: dict[str, Any],
    edit: dict[str, tuple[dict[int, Any], list[Any], set[int]]],
    change: TasksChange,
) -> None:
    """Edit the text in place (keeps comments and layout); rewrite only if that fails."""
    if doc is None:
        fs.atomic_write_text(path, json.dumps(expected, indent=4) + "\n")
        return
    change.backup = _backup(path)
    try:
        text = _edit(doc, edit)
        ok = jsonc.loads(text) == expected
    except (jsonc.JsoncError, KeyError, AssertionError):
        ok = False
    if not ok:
        text = json.dumps(expected, indent=4) + "\n"
        change.comments_dropped = doc.has_comments
    fs.atomic_write_text(path, text)


def _backup(path: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.praxis-backup-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.praxis-backup-{stamp}-{n}")
    fs.atomic_copy(path, backup)
    return backup


def install(project: Path) -> TasksChange:
    """Add or update our tasks and inputs; user tasks, inputs and other keys stay as they are.

    Raises:
        UserError: the file cannot be parsed (it is left untouched).
    """
    path = tasks_path(project)
    change = TasksChange(path)
    doc = _read(path)
    ours = shipped()
    data: dict[str, Any] = copy.deepcopy(doc.data) if doc else {"version": ours["version"]}
    edit: dict[str, tuple[dict[int, Any], list[Any], set[int]]] = {}
    for key, field in (("tasks", "label"), ("inputs", "id")):
        items = data.setdefault(key, [])
        replace, append = _merge(items, ours[key], field)
        for i, entry in replace.items():
            items[i] = entry
        items.extend(append)
        edit[key] = (replace, append, set())
        if key == "tasks":
            change.updated = [e["label"] for e in replace.values()]
            change.added = [e["label"] for e in append]
        else:
            change.inputs = [e["id"] for e in [*replace.values(), *append]]
    if not change.changed:
        return change
    _write(path, doc, data, edit, change)
    return change


def uninstall(project: Path) -> TasksChange:
    """Remove only our tasks (by label) and inputs (by id); a missing file is fine."""
    path = tasks_path(project)
    change = TasksChange(path)
    doc = _read(path)
    if doc is None:
        return change
    ours = shipped()
    data: dict[str, Any] = copy.deepcopy(doc.data)
    edit: dict[str, tuple[dict[int, Any], list[Any], set[int]]] = {}
    for key, field in (("tasks", "label"), ("inputs", "id")):
        names = {e[field] for e in ours[key]}
        items = data.get(key, [])
        drop = {i for i, it in enumerate(items) if isinstance(it, dict) and it.get(field) in names}
        names_dropped = [items[i][field] for i in sorted(drop)]
        if key == "tasks":
            change.removed = names_dropped
        else:
            change.inputs = names_dropped
        if drop:
            data[key] = [it for i, it in enumerate(items) if i not in drop]
        edit[key] = ({}, [], drop)
    if not change.changed:
        return change
    _write(path, doc, data, edit, change)
    return change
