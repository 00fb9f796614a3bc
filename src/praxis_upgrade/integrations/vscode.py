"""Merge praxis-upgrade's tasks into a project's `.vscode/tasks.json` without losing the user's."""

from __future__ import annotations

import codecs
import copy
import dataclasses
import hashlib
import json
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from praxis_upgrade import store
from praxis_upgrade.errors import UserError
from praxis_upgrade.integrations import jsonc
from praxis_upgrade.util import fs

MARKER = "PRAXIS_UPGRADE_TASK"
"""The `options.env` entry that marks a task as ours; its value is the task's id (`run`,
`preview`, ...). VS Code's schema warns about properties it does not know on a task, but takes
any string in `options.env` (the task's process gets it as a variable that nothing reads)."""
PYTHON = "PRAXIS_UPGRADE_TASK_PYTHON"
"""The `options.env` entry naming the interpreter that ran `vscode install`."""
SHELL = "/bin/sh"
LAUNCHER = (
    'py="$PRAXIS_UPGRADE_TASK_PYTHON"; '
    'if [ -n "$py" ] && [ -x "$py" ]; then exec "$py" -m praxis_upgrade "$@"; fi; '
    'if command -v praxis-upgrade >/dev/null 2>&1; then exec praxis-upgrade "$@"; fi; '
    "echo \"praxis-upgrade: not found (no interpreter at '$py', none on PATH);"
    ' install it, then run: praxis-upgrade vscode install" >&2; exit 127'
)
"""What `/bin/sh -c` runs on Linux and macOS: the recorded interpreter if it is still there, else
`praxis-upgrade` from PATH (VS Code passes the task's arguments as "$@"). No `${...}` in it: VS
Code would take that for one of its variables."""
BACKUP_NAME = "vscode-tasks.json.bak"
OLD_BACKUPS = "tasks.json.praxis-backup-*"  # what earlier versions left in .vscode/
_INPUT_REF = re.compile(r"\$\{input:([^}]+)\}")

Step = tuple[dict[int, Any], list[Any], set[int]]  # replace (by index), append, remove (indices)
Edit = dict[str, Step]  # per top-level array


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


def task_id(task: dict[str, Any]) -> str:
    """Our name for a shipped task: its subcommand, `preview` for the dry run."""
    args = task.get("args") or [""]
    return "preview" if "--dry-run" in args else str(args[0])


def wanted(python: str) -> dict[str, Any]:
    """The tasks and inputs `install` writes: the shipped ones, marked, run by `python`."""
    ours = shipped()
    return {
        "version": ours["version"],
        "tasks": [_runnable(t, python) for t in ours["tasks"]],
        "inputs": ours["inputs"],
    }


def _runnable(task: dict[str, Any], python: str) -> dict[str, Any]:
    """A shipped task that runs `python -m praxis_upgrade`, or `praxis-upgrade` from PATH when
    that interpreter is gone, and carries our marker."""
    options = dict(task.get("options") or {})
    options["env"] = {**(options.get("env") or {}), MARKER: task_id(task), PYTHON: python}
    head: dict[str, Any] = {k: task[k] for k in ("label", "detail") if k in task}
    rest = {
        k: v
        for k, v in task.items()
        if k not in ("label", "detail", "type", "command", "args", "options")
    }
    return {
        **head,
        "type": "process",
        "command": SHELL,
        "args": ["-c", LAUNCHER, task["command"], *task["args"]],
        "options": options,
        "windows": _windows(task, python),
        **rest,
    }


def _windows(task: dict[str, Any], python: str) -> dict[str, Any]:
    """Windows has no /bin/sh: the interpreter itself when `vscode install` ran on Windows (no
    fallback), else `praxis-upgrade` from PATH through VS Code's default shell."""
    if os.name == "nt" and python:
        return {"command": python, "args": ["-m", "praxis_upgrade", *task["args"]]}
    return {"type": "shell", "command": task["command"], "args": task["args"]}


def describe_runner(python: str) -> str:
    """What the tasks `install` writes with `python` run, in words."""
    if not python:
        return "praxis-upgrade from PATH"
    if os.name == "nt":
        return f"{python} -m praxis_upgrade (rerun `praxis-upgrade vscode install` if it moves)"
    return f"{python} -m praxis_upgrade, or praxis-upgrade from PATH once that is gone"


@dataclasses.dataclass
class TasksChange:
    """What install/uninstall did to `.vscode/tasks.json`, for the CLI to report."""

    path: Path
    added: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    inputs: list[str] = dataclasses.field(default_factory=list)  # input ids written or removed
    clashes: list[str] = dataclasses.field(default_factory=list)  # labels of user tasks kept
    input_clashes: list[str] = dataclasses.field(default_factory=list)  # user inputs kept
    python: str | None = None  # the interpreter the tasks run (install only)
    backup: Path | None = None
    comments_dropped: bool = False  # True: comments of the file are only in the backup now
    rewritten: bool = False  # True: the layout could not be kept (the old file is the backup)
    old_backups: list[Path] = dataclasses.field(default_factory=list)  # left in .vscode/

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.inputs)


@dataclasses.dataclass
class _File:
    """The parsed file and the byte-level details that must survive an edit."""

    doc: jsonc.Document
    bom: bool

    def encode(self, text: str) -> bytes:
        return (codecs.BOM_UTF8 if self.bom else b"") + text.encode("utf-8")


def tasks_path(project: Path) -> Path:
    return project / ".vscode" / "tasks.json"


def backup_path(project: Path) -> Path:
    """Where the one backup of `tasks.json` is kept: in the install's cache (never committed),
    or in the user's praxis-upgrade folder for a project without an install."""
    for name in (store.DOT_DIR, store.LEGACY_DOT_DIR):
        if (project / name).is_dir():
            return store.Store(project / name).work / BACKUP_NAME
    key = hashlib.sha256(os.fsencode(project.resolve())).hexdigest()[:16]
    return store.user_dir() / "vscode-backups" / f"{key}-tasks.json"


def _read(path: Path) -> _File | None:
    """The parsed file, None when absent or blank; refuses what we cannot edit safely."""
    try:
        raw = path.read_bytes()
        bom = raw.startswith(codecs.BOM_UTF8)
        text = raw[len(codecs.BOM_UTF8) if bom else 0 :].decode("utf-8")
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
    return _File(doc, bom)


def _our_id(task: Any, legacy: list[dict[str, Any]]) -> str | None:
    """The id of a task of ours: it carries our marker, or it is exactly a shipped task (as
    versions before the marker wrote them, or as copied from `integrations/vscode/`)."""
    if not isinstance(task, dict):
        return None
    options = task.get("options")
    env = options.get("env") if isinstance(options, dict) else None
    marker = env.get(MARKER) if isinstance(env, dict) else None
    if isinstance(marker, str):
        return marker
    return task_id(task) if task in legacy else None


def _owned(tasks: list[Any]) -> dict[int, str]:
    """Our tasks among `tasks`, by index, with their ids."""
    legacy = shipped()["tasks"]
    ids = {i: _our_id(t, legacy) for i, t in enumerate(tasks)}
    return {i: tid for i, tid in ids.items() if tid is not None}


def _input_users(tasks: list[Any], owned: dict[int, str]) -> set[str]:
    """Input ids that the user's own tasks refer to (`${input:ID}` anywhere in them)."""
    return {
        ref
        for i, t in enumerate(tasks)
        if i not in owned
        for ref in _INPUT_REF.findall(json.dumps(t))
    }


def _plan_tasks(tasks: list[Any], ours: list[dict[str, Any]], change: TasksChange) -> Step:
    """Replace our tasks that differ, append missing ones, remove ours no longer shipped; a user
    task with the label of one of ours is kept and that one of ours left out."""
    owned = _owned(tasks)
    first: dict[str, int] = {}
    for i, tid in owned.items():
        first.setdefault(tid, i)
    theirs = {t.get("label") for i, t in enumerate(tasks) if i not in owned and isinstance(t, dict)}
    replace: dict[int, Any] = {}
    append: list[Any] = []
    for entry in ours:
        at = first.get(entry["options"]["env"][MARKER])
        if entry["label"] in theirs:
            change.clashes.append(entry["label"])
        elif at is None:
            append.append(entry)
            change.added.append(entry["label"])
        elif tasks[at] != entry:
            replace[at] = entry
            change.updated.append(entry["label"])
    shipped_ids = {e["options"]["env"][MARKER] for e in ours}
    remove = {i for i, tid in owned.items() if tid not in shipped_ids}
    change.removed = [str(tasks[i].get("label")) for i in sorted(remove)]
    return replace, append, remove


def _plan_inputs(
    inputs: list[Any], ours: list[dict[str, Any]], users: set[str], change: TasksChange
) -> Step:
    """Add or update our inputs; one that the user's tasks also use is theirs and stays."""
    index: dict[Any, int] = {}
    for j, it in enumerate(inputs):
        if isinstance(it, dict):
            index.setdefault(it.get("id"), j)
    replace: dict[int, Any] = {}
    append: list[Any] = []
    for entry in ours:
        at = index.get(entry["id"])
        if at is None:
            append.append(entry)
        elif inputs[at] == entry:
            continue
        elif entry["id"] in users:
            change.input_clashes.append(entry["id"])
            continue
        else:
            replace[at] = entry
        change.inputs.append(entry["id"])
    return replace, append, set()


def _emptied(doc: jsonc.Document | None, key: str, step: Step) -> bool:
    """Whether the edit empties the array `key` and nothing of the user's is in its text (no
    comment): the member then goes too (install may well have added it)."""
    _replace, append, remove = step
    member = doc.members.get(key) if doc else None
    if doc is None or member is None or member.items is None or append or not remove:
        return False
    inside = jsonc.comments_within(doc, member.value_start, member.value_end)
    return len(remove) == len(member.items) and not inside


def _apply(data: dict[str, Any], edit: Edit, doc: jsonc.Document | None) -> dict[str, Any]:
    """The data `edit` makes of `data` (what the edited text must parse to)."""
    out = copy.deepcopy(data)
    for key, (replace, append, remove) in edit.items():
        items = out.get(key, [])
        new = [replace.get(i, it) for i, it in enumerate(items) if i not in remove] + append
        if _emptied(doc, key, (replace, append, remove)):
            del out[key]
        elif key in out or new:
            out[key] = new
    return out


def install(project: Path, python: str | None = None) -> TasksChange:
    """Add or update our tasks and inputs; user tasks, inputs and other keys stay as they are.

    The tasks run `python` (default: the interpreter running this) with `-m praxis_upgrade`, or
    `praxis-upgrade` from PATH once that interpreter is gone.

    Raises:
        UserError: the file cannot be parsed (it is left untouched).
    """
    python = sys.executable if python is None else python
    path = tasks_path(project)
    change = TasksChange(path, python=python, old_backups=_old_backups(path))
    file = _read(path)
    ours = wanted(python)
    data = file.doc.data if file else {"version": ours["version"]}
    tasks, inputs = data.get("tasks", []), data.get("inputs", [])
    edit: Edit = {"tasks": _plan_tasks(tasks, ours["tasks"], change)}
    users = _input_users(tasks, _owned(tasks))
    edit["inputs"] = _plan_inputs(inputs, ours["inputs"], users, change)
    if change.changed:
        _write(path, file, _apply(data, edit, file.doc if file else None), edit, change)
    return change


def uninstall(project: Path) -> TasksChange:
    """Remove only our tasks (those with our marker) and inputs (our ids that no task of the
    user's uses); a missing file is fine."""
    path = tasks_path(project)
    change = TasksChange(path, old_backups=_old_backups(path))
    file = _read(path)
    if file is None:
        return change
    data = file.doc.data
    tasks, inputs = data.get("tasks", []), data.get("inputs", [])
    owned = _owned(tasks)
    users = _input_users(tasks, owned)
    ids = {e["id"] for e in shipped()["inputs"]}
    drop = {j for j, it in enumerate(inputs) if isinstance(it, dict) and it.get("id") in ids}
    change.input_clashes = [inputs[j]["id"] for j in sorted(drop) if inputs[j]["id"] in users]
    drop = {j for j in drop if inputs[j]["id"] not in users}
    change.removed = [str(tasks[i].get("label")) for i in sorted(owned)]
    change.inputs = [inputs[j]["id"] for j in sorted(drop)]
    edit: Edit = {"tasks": ({}, [], set(owned)), "inputs": ({}, [], drop)}
    if change.changed:
        _write(path, file, _apply(data, edit, file.doc), edit, change)
    return change


def _edit(doc: jsonc.Document, edit: Edit) -> str:
    """Apply per-array edits to the text: replace and remove (by the original indices), then
    append, parsing again between steps; an array emptied of ours goes as a whole."""
    text = doc.text
    for key, (replace, append, remove) in edit.items():
        if _emptied(doc, key, (replace, append, remove)):
            text = jsonc.remove_member(jsonc.parse(text), key)
            continue
        for step, todo in (("replace", replace), ("remove", remove), ("append", append)):
            if not todo:
                continue
            current = jsonc.parse(text)
            if key not in current.members:
                text = jsonc.add_member(current, key, append)
                break
            if step == "replace":
                text = jsonc.replace_items(current, key, replace)
            elif step == "remove":
                text = jsonc.remove_items(current, key, remove)
            else:
                text = jsonc.append_items(current, key, append)
    return text


def _dumps(data: Any, newline: str) -> str:
    return json.dumps(data, indent=4, ensure_ascii=False).replace("\n", newline) + newline


def _write(
    path: Path, file: _File | None, expected: dict[str, Any], edit: Edit, change: TasksChange
) -> None:
    """Edit the text in place (comments, layout, line endings and BOM kept); rewrite it only if
    that fails. The one backup is taken only when something not ours would be lost."""
    if file is None:
        fs.atomic_write_text(path, _dumps(expected, "\n"))
        return
    try:
        text = _edit(file.doc, edit)
        ok = jsonc.loads(text) == expected
    except (jsonc.JsoncError, KeyError, AssertionError):
        ok = False
    if not ok:
        text = _dumps(expected, jsonc.newline(file.doc.text))
        change.rewritten = True
    change.comments_dropped = jsonc.parse(text).comment_texts() != file.doc.comment_texts()
    if change.rewritten or change.comments_dropped:
        change.backup = backup_path(path.parent.parent)  # <project>/.vscode/tasks.json
        fs.atomic_copy(path, change.backup)
    fs.atomic_write_bytes(path, file.encode(text))


def _old_backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(OLD_BACKUPS))
