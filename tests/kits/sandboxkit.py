"""One sandbox source and one install per kind for the whole test session, copied fresh per use.

`make_source` and `make_target` are deterministic for the same arguments (the same files, tags and
user edits), and a venv (`make_target(..., venv=True)`) spends seconds in ensurepip and pip.
`Sandbox`
builds each install once (without a venv) and each venv once per `requirements.txt` content, in a
private folder no test is handed, and gives every caller its own copy:

    sandbox.source                                   # shared, read-only praxis-os clone
    sandbox.target(tmp_path / "project", "v1.5.0", edits=True, venv=True)   # a private copy

Copies keep symlinks as symlinks and every file's bytes, mode and mtime. A copied venv is
relocated (`relocate_venv`): its scripts and pyvenv.cfg name its own path, as `python -m venv`
would have written them there, so nothing in a copy points back at the shared original.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git
import pytest

from praxis_upgrade.demo import Source, Target, create_venv, make_source, make_target


def _scripts(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def relocate_venv(old: Path, new: Path) -> None:
    """Point the copy `new` of the venv `old` at its own path (pyvenv.cfg, scripts, activate).

    The interpreter itself is a symlink to the base Python and finds its venv from where it is
    run, so only these text files name the venv's folder.
    """
    old_b, new_b = os.fsencode(str(old)), os.fsencode(str(new))
    scripts = _scripts(new)
    for path in [new / "pyvenv.cfg", *(sorted(scripts.iterdir()) if scripts.is_dir() else [])]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old_b in data:
            st = path.stat()
            path.write_bytes(data.replace(old_b, new_b))
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def server_checkout(source: Path, tag: str, dest: Path) -> Path:
    """Write the source's ``mcp_server/`` files at `tag` under `dest`; returns `dest`."""
    with git.Repo(source) as repo:
        for blob in repo.commit(tag).tree.traverse():
            if blob.type == "blob" and blob.path.startswith("mcp_server/"):
                path = dest / blob.path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob.data_stream.read())
    return dest


def copy_tree(src: Path, dest: Path, *, venvs: tuple[str, ...] = ()) -> None:
    """Copy `src` to `dest` (links as links, modes and mtimes kept); relocate venvs at `venvs`."""
    shutil.copytree(src, dest, symlinks=True)
    for rel in venvs:
        if (src / rel / "pyvenv.cfg").is_file():
            relocate_venv(src / rel, dest / rel)


class Sandbox:
    """Lazily built, session-wide sandbox source and installs (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self._source: Source | None = None
        self._installs: dict[tuple[str, bool], Target] = {}
        self._venvs: dict[str, Path] = {}

    @contextmanager
    def _private_env(self) -> Iterator[None]:
        """Build under a HOME of the sandbox's own, whichever test happens to trigger the build."""
        self.home.mkdir(parents=True, exist_ok=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HOME", str(self.home))
            for var, sub in (
                ("XDG_CONFIG_HOME", ".config"),
                ("XDG_DATA_HOME", ".local/share"),
                ("XDG_STATE_HOME", ".local/state"),
                ("XDG_CACHE_HOME", ".cache"),
            ):
                mp.setenv(var, str(self.home / sub))
            yield

    @property
    def source(self) -> Source:
        """The default sandbox source (`make_source(path)`); tests only read it."""
        if self._source is None:
            with self._private_env():
                self._source = make_source(self.root / "praxis-os")
        return self._source

    def _install(self, version: str, edits: bool) -> Target:
        """`make_target(..., version=version, edits=edits)` without a venv, built once."""
        key = (version, edits)
        if key not in self._installs:
            with self._private_env():
                self._installs[key] = make_target(
                    self.root / f"install-{version}-{int(edits)}" / "project",
                    self.source,
                    version=version,
                    edits=edits,
                )
        return self._installs[key]

    def _venv(self, requirements: bytes) -> Path:
        """A venv `create_venv` made for these `mcp_server/requirements.txt` bytes, built once.

        `make_target(venv=True)` is `make_target(venv=False)` plus
        `create_venv(praxis, <source>/wheels)`,
        whose result depends only on the requirements and the wheels (the same in every tag).
        """
        key = hashlib.sha256(requirements).hexdigest()[:16]
        if key not in self._venvs:
            praxis = self.root / f"venv-{key}" / ".praxis-os"
            (praxis / "mcp_server").mkdir(parents=True)
            (praxis / "mcp_server" / "requirements.txt").write_bytes(requirements)
            with self._private_env():
                create_venv(praxis, self.source.path / "wheels")
            self._venvs[key] = praxis / "venv"
        return self._venvs[key]

    def target(self, dest: Path, version: str, *, edits: bool = True, venv: bool = False) -> Target:
        """A private copy at `dest` of `make_target(..., self.source, version, edits, venv)`."""
        made = self._install(version, edits)
        dest = Path(dest)
        shutil.copytree(made.project, dest, symlinks=True)
        praxis = dest / made.praxis.relative_to(made.project)
        if venv:
            built = self._venv((praxis / "mcp_server" / "requirements.txt").read_bytes())
            shutil.copytree(built, praxis / "venv", symlinks=True)
            relocate_venv(built, praxis / "venv")
        return Target(
            project=dest,
            praxis=praxis,
            version=made.version,
            user_edits=dict(made.user_edits),
            user_files=list(made.user_files),
        )
