"""A fresh install: the folders an install has, a venv, an empty baseline; then an upgrade from
nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from praxis_upgrade import store
from praxis_upgrade.content import baseline
from praxis_upgrade.errors import SourceError, TargetError
from praxis_upgrade.source import targets
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.util.clock import now

USER_DIRS = (
    "standards/development",
    "specs/review",
    "specs/approved",
    "specs/completed",
    "workspace/design",
    "workspace/analysis",
    "workspace/scratch",
    ".cache",
)


def prepare_install(
    project: Path, source: Path, *, rev: str | None = None, python: str = sys.executable
) -> Path:
    """Create ``<project>/.praxis-os`` ready to be "upgraded" from an empty base; return it.

    Raises:
        TargetError: the project does not exist or already has an install.
        SourceError: the source is not a clean praxis-os clone (checked before anything is made).
    """

    if project.exists() and not project.is_dir():
        raise TargetError(
            f"{project} is a file, not a folder",
            hint="pass --target PROJECT_DIR (the project's folder), not a file in it",
        )
    if not project.is_dir():
        raise TargetError(
            f"project folder {project} does not exist", hint="create it first, or pass --target"
        )
    praxis = project / store.DOT_DIR
    if praxis.exists() and any(praxis.iterdir()):
        raise TargetError(
            f"{praxis} already exists",
            hint="upgrade it with `praxis-upgrade run --source PATH` instead",
        )
    source = targets.resolve_source(praxis, source)
    repo = SourceRepo(source)
    if repo.is_dirty():
        raise SourceError(
            f"the source clone {source} has uncommitted changes",
            hint="commit or stash them in the source clone, then run again",
        )
    try:
        repo.resolve(rev or "HEAD")
    except Exception as e:
        raise SourceError(
            f"revision {rev!r} does not exist in {source}: {e}",
            hint="`git tag` in the source clone lists the versions",
        ) from e
    for rel in USER_DIRS:
        (praxis / rel).mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [python, "-m", "venv", str(praxis / "venv")], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise TargetError(
            f"creating {praxis / 'venv'} failed: {done.stderr.strip()[-500:]}",
            hint="check that this Python has the venv module (Debian: apt install python3-venv)",
        )
    baseline.save(
        praxis,
        baseline.Baseline(version="(none)", commit="", source_path=str(source), installed_at=now()),
    )
    return praxis
