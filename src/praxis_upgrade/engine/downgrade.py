"""Whether an upgrade goes back: the source revision is older than what is installed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packaging.version import InvalidVersion, Version

# git exports these to hooks; they would point git at another repository than the clone
_GIT_REPO_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


def is_downgrade(
    source: Path,
    installed_version: str | None,
    target_version: str | None,
    installed_commit: str | None,
    target_commit: str | None,
) -> bool:
    """True when the target is older than the install.

    Versions decide where both parse (``packaging.version``) and differ. Otherwise the source's
    history does: a target commit that is an ancestor of the installed commit is a downgrade;
    an installed commit that is an ancestor of the target (an upgrade), a commit on another
    branch, or one the clone does not have is not.
    """
    installed, target = _version(installed_version), _version(target_version)
    if installed is not None and target is not None and installed != target:
        return target < installed
    if not installed_commit or not target_commit or installed_commit == target_commit:
        return False
    return _is_ancestor(source, target_commit, installed_commit) is True


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _is_ancestor(source: Path, older: str, newer: str) -> bool | None:
    """Whether commit `older` is an ancestor of `newer` in the clone; None when git cannot
    tell (a commit it does not have)."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_VARS}
    done = subprocess.run(
        ["git", "-C", str(source), "merge-base", "--is-ancestor", older, newer],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return {0: True, 1: False}.get(done.returncode)
