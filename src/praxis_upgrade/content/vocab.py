"""The words of a plan: file classes, actions, conflict policies and the choices for one
conflict."""

from __future__ import annotations

import enum


class Word(str, enum.Enum):
    """An enum whose members are their own text (in JSON, f-strings and comparisons with str)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Klass(Word):
    """How base, local and upstream relate for one path (the rows of the three-way table)."""

    UNCHANGED = "unchanged"
    UPSTREAM_CHANGED = "upstream-changed"
    LOCAL_CHANGED = "local-changed"
    BOTH_SAME = "both-same"
    BOTH_CHANGED = "both-changed"  # both edited, and the edits merge without overlap
    CONFLICT = "conflict"
    ADDED = "added"
    ADD_ADD = "conflict-add-add"
    UPSTREAM_DELETED = "upstream-deleted"
    KEPT_DELETED = "local-changed-upstream-deleted"
    LOCALLY_DELETED = "locally-deleted"
    MODIFY_DELETE = "conflict-modify-delete"
    BOTH_DELETED = "both-deleted"
    UNREADABLE = "unreadable"

    @property
    def is_conflict(self) -> bool:
        return self in _CONFLICTS

    @property
    def action(self) -> Action:
        """The default action for this class (DESIGN §3)."""
        return _ACTIONS[self]

    @classmethod
    def conflicting(cls, value: str | None) -> bool:
        """Whether a saved class (text from a session or report) is a conflict."""
        try:
            return cls(value).is_conflict
        except ValueError:
            return False


class Action(Word):
    """What the upgrade does to one path."""

    NONE = "none"
    UPDATE = "update"
    ADD = "add"
    DELETE = "delete"
    KEEP = "keep"
    MERGE = "merge"  # a conflict: the policy decides what is written
    AUTO_MERGE = "auto-merge"  # both sides' edits merged cleanly
    STAY_DELETED = "stay-deleted"

    @property
    def writes(self) -> bool:
        """Whether this action writes or deletes the file."""
        return self in _WRITES


class Policy(Word):
    """How conflicts are settled in a run."""

    PROMPT = "prompt"
    KEEP_LOCAL = "keep-local"
    TAKE_UPSTREAM = "take-upstream"
    MERGE = "merge"
    FAIL = "fail"


class Choice(Word):
    """What was chosen for one conflict (by the policy or at the prompt)."""

    KEEP_LOCAL = "keep-local"
    TAKE_UPSTREAM = "take-upstream"
    MERGE = "merge"
    SKIP = "skip"


_CONFLICTS = frozenset({Klass.CONFLICT, Klass.ADD_ADD, Klass.MODIFY_DELETE})
_WRITES = frozenset({Action.UPDATE, Action.ADD, Action.MERGE, Action.AUTO_MERGE, Action.DELETE})
_ACTIONS = {
    Klass.UNCHANGED: Action.NONE,
    Klass.UPSTREAM_CHANGED: Action.UPDATE,
    Klass.LOCAL_CHANGED: Action.KEEP,
    Klass.BOTH_SAME: Action.NONE,
    Klass.CONFLICT: Action.MERGE,
    Klass.ADDED: Action.ADD,
    Klass.ADD_ADD: Action.MERGE,
    Klass.UPSTREAM_DELETED: Action.DELETE,
    Klass.KEPT_DELETED: Action.KEEP,
    Klass.LOCALLY_DELETED: Action.STAY_DELETED,
    Klass.MODIFY_DELETE: Action.STAY_DELETED,
    Klass.BOTH_DELETED: Action.NONE,
    Klass.UNREADABLE: Action.NONE,
    Klass.BOTH_CHANGED: Action.AUTO_MERGE,
}
