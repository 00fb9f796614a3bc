"""The one place that names every path this tool owns, in an install and in the user's folders."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import platformdirs

HOME_ENV = "PRAXIS_UPGRADE_HOME"
"""Overrides the user-level folder (registry, hook logs); tests and CI set it."""

DOT_DIR = ".praxis-os"
LEGACY_DOT_DIR = ".agent-os"
"""Where upstream installed before the 2025-10-27 rename; such installs are migrated."""
TOOL_DIR = ".praxis-upgrade"
BACKUPS_DIR = ".backups"
CACHE_DIR = ".cache"
VENV_DIR = "venv"
PREVIOUS_VENV_DIR = "venv.praxis-prev"
SERVER_STATE_FILE = ".mcp_server_state.json"
UPDATE_LOG_FILE = "UPDATE_LOG.txt"
BASELINE_FILE = f"{TOOL_DIR}/baseline.json"
SETTINGS_FILE = f"{TOOL_DIR}/settings.json"
TOOL_FILES = (BASELINE_FILE,)
"""Install-relative files of this tool that a backup holds and a rollback puts back."""
KEPT_THROUGH_ROLLBACK = (SETTINGS_FILE,)
"""This tool's settings (the remembered source): not upgrade state, so never backed up, and
left as they are by a rollback, also one from an older backup that holds them."""


@dataclasses.dataclass(frozen=True)
class Store:
    """Every path this tool reads or writes inside one install (``<project>/.praxis-os``).

    Nothing else in the package spells these names: ask the store.
    """

    root: Path

    # -- the tool's own files, kept with the install (the baseline is committed with it) --------
    @property
    def baseline(self) -> Path:
        return self.root / BASELINE_FILE

    @property
    def settings(self) -> Path:
        return self.root / SETTINGS_FILE

    # -- runtime: caches, sessions, the lock, logs ------------------------------------------------
    @property
    def cache(self) -> Path:
        """The install's ``.cache/`` (shared with the praxis server; reports go here)."""
        return self.root / CACHE_DIR

    @property
    def work(self) -> Path:
        """Our own folder under ``.cache/``: lock, blob cache, logs."""
        return self.cache / "praxis-upgrade"

    @property
    def lock(self) -> Path:
        return self.work / "upgrade.lock"

    @property
    def lock_info(self) -> Path:
        return self.work / "upgrade.lock.json"

    @property
    def blobs(self) -> Path:
        return self.work / "blobs"

    @property
    def sessions(self) -> Path:
        """Session files; our own subfolder, so the server's sessions in ``state/`` are never
        touched."""
        return self.cache / "state" / "praxis-upgrade"

    def session_log(self, session_id: str) -> Path:
        """Output of a detached run (MCP tools, ``run --all`` workers)."""
        return self.work / "logs" / f"{session_id}.log"

    @property
    def restart_log(self) -> Path:
        return self.work / "server-restart.log"

    @property
    def probe_saved_state(self) -> Path:
        """The server's state file as it was before a validation probe, until it is put back."""
        return self.work / "server-state-before-probe.json"

    @property
    def toolnames_cache(self) -> Path:
        """The tool names found in each server file, by content hash (see server/toolnames)."""
        return self.work / "toolnames.json"

    @property
    def venv_restore_pins(self) -> Path:
        return self.work / "venv-restore-requirements.txt"

    def summary_report(self, stamp: str) -> Path:
        return self.cache / f"upgrade-summary-{stamp}.md"

    def validation_report(self, stamp: str) -> Path:
        return self.cache / f"upgrade-validation-{stamp}.json"

    @property
    def update_log(self) -> Path:
        return self.root / UPDATE_LOG_FILE

    # -- backups and the environment --------------------------------------------------------------
    @property
    def backups(self) -> Path:
        return self.root / BACKUPS_DIR

    @property
    def venv(self) -> Path:
        return self.root / VENV_DIR

    @property
    def previous_venv(self) -> Path:
        """The old venv, renamed aside while the new one is built (until the upgrade is final)."""
        return self.root / PREVIOUS_VENV_DIR

    @property
    def server_state(self) -> Path:
        """The praxis server's own state file (pid, transport); read, never written by us."""
        return self.root / SERVER_STATE_FILE


def same_install(a: str | Path, b: str | Path) -> bool:
    """Whether two install paths name one install, across the `.agent-os` -> `.praxis-os` move."""
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    if ra == rb:
        return True
    names = {DOT_DIR, LEGACY_DOT_DIR}
    return (
        os.path.dirname(ra) == os.path.dirname(rb)
        and os.path.basename(ra) in names
        and os.path.basename(rb) in names
    )


def user_dir() -> Path:
    """``$PRAXIS_UPGRADE_HOME`` when set, else the platform's user config folder."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("praxis-upgrade")


def registry_file() -> Path:
    """The projects registered for the post-merge hook."""
    return user_dir() / "projects.json"


def hook_logs() -> Path:
    """Logs of the post-merge hook's background runs."""
    return user_dir() / "logs"


def crash_log() -> Path:
    """Tracebacks of unexpected errors."""
    return platformdirs.user_log_path("praxis-upgrade") / "crash.log"
