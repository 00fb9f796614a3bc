"""A fake project with prAxIs OS installed from one release of a sandbox source."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from git import Repo

from praxis_upgrade.demo import upstream_install
from praxis_upgrade.demo.fake_source import AUTHOR, FOREGROUND_GC, Source
from praxis_upgrade.demo.releases import TAGS, release
from praxis_upgrade.demo.user_edits import apply_user_edits

_APP = {
    "src/app.py": '"""Tiny app the project is really about."""\n\n\ndef greet(name: str) -> str:\n'
    '    return f"hello {name}"\n',
    "src/__init__.py": "",
    "tests/test_app.py": "from src.app import greet\n\n\ndef test_greet():\n"
    "    assert greet('x') == 'hello x'\n",
    "README.md": "# demo-app\n\nA project that uses prAxIs OS.\n",
    ".gitignore": "__pycache__/\n*.pyc\n.venv/\n",
}


@dataclass(frozen=True)
class Target:
    """An installed project. Paths in `user_edits`/`user_files` are relative to `praxis`.

    `user_edits` maps upstream files the user changed to a kind: 'edit-conflict' (the next
    release changes the same line), 'edit', 'delete' or 'hotfix'. `user_files` are files only the
    user owns (they must stay byte-identical through any upgrade).
    """

    project: Path
    praxis: Path
    version: str
    user_edits: dict[str, str] = field(default_factory=dict)
    user_files: list[str] = field(default_factory=list)


def _commit(repo: Repo, message: str) -> None:
    name, email = AUTHOR
    env = {
        **FOREGROUND_GC,
        "GIT_AUTHOR_NAME": "Project Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    with repo.git.custom_environment(**env):
        repo.git.add("-A")
        repo.git.commit("-q", "--no-verify", "--allow-empty", "-m", message)


def make_target(
    path: Path,
    source: Source,
    *,
    version: str,
    edits: bool = True,
    venv: bool = False,
    seed: int = 0,
    legacy: bool = False,
) -> Target:
    """Create project `path` (a git repo with app code) and install prAxIs OS `version` into it.

    With `edits`, apply user customisations (see `Target`). With `venv`, create a real
    `.praxis-os/venv` (with pip) and install the pinned `fakedep` from `<source>/wheels`.
    Everything but the venv is committed, so `git status` starts clean. With `legacy`, install
    the way upstream did before the 2025-10-27 rename: into `.agent-os/` (IDE config and
    `.gitignore` naming it; releases before v1.6.0 use the server key `agent-os-rag`).
    """
    rel = release(version)
    project = Path(path)
    praxis = project / (upstream_install.LEGACY_DIR if legacy else ".praxis-os")
    project.mkdir(parents=True, exist_ok=True)
    with Repo.init(project, initial_branch="main") as repo:
        for rel_path, text in _APP.items():
            (project / rel_path).parent.mkdir(parents=True, exist_ok=True)
            (project / rel_path).write_text(text, encoding="utf-8")
        _commit(repo, "Initial app")
        tree = upstream_install.release_files(source.path, rel.tag)
        user_files = upstream_install.install(praxis, tree, seed)
        user_files.append(upstream_install.write_config(praxis))
        upstream_install.write_ide_files(project, rel, praxis.name)
        _commit(repo, f"Install prAxIs OS {rel.version}")
        user_edits: dict[str, str] = {}
        if edits:
            idx = TAGS.index(rel.tag)
            nxt = None
            if idx + 1 < len(TAGS) and TAGS[idx + 1] in source.tags:
                nxt = {
                    p: d
                    for p, (d, _m) in upstream_install.release_files(
                        source.path, TAGS[idx + 1]
                    ).items()
                }
            user_edits, created = apply_user_edits(
                praxis, {p: d for p, (d, _m) in tree.items()}, nxt, seed
            )
            user_files += created
            _commit(repo, "Customize prAxIs OS")
    if venv:
        from praxis_upgrade.demo.fake_venv import create_venv

        create_venv(praxis, source.path / "wheels")
    return Target(
        project=project,
        praxis=praxis,
        version=rel.tag,
        user_edits=user_edits,
        user_files=sorted(user_files),
    )
