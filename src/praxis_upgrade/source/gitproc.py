"""Plain `git` processes on one repository: commands, and a long-lived `cat-file --batch` reader."""

from __future__ import annotations

import os
import subprocess
import weakref
from collections.abc import Mapping
from pathlib import Path

from praxis_upgrade.errors import SourceError

# what git reads to pick a repository; a git hook sets them for the project's own
_GIT_REPO_ENV = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_GRAFT_FILE",
        "GIT_REPLACE_REF_BASE",
    }
)


def git_env(**pinned: str) -> dict[str, str]:
    """This process's environment less the variables that point git at another repository,
    plus `pinned` ones (``GIT_DIR=...``)."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_ENV}
    env.update(pinned)
    return env


class GitFailed(SourceError):
    """A git command exited non-zero; `stderr` holds what it said."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
) -> bytes:
    """Stdout of `git <args>`; GitFailed (with git's stderr) when it exits non-zero, SourceError
    when git cannot be started. `env` defaults to `git_env()`."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=dict(env) if env is not None else git_env(),
            check=False,
        )
    except OSError as e:
        raise SourceError(
            f"git could not be run: {e}", hint="install git and make sure it is on PATH"
        ) from e
    if done.returncode:
        said = done.stderr.decode("utf-8", "replace").strip()
        where = f" in {cwd}" if cwd is not None else ""
        raise GitFailed(f"`git {args[0]}` failed{where}: {said}", stderr=said)
    return done.stdout


class ObjectReader:
    """Objects of one repository read by name (``<sha>``, ``<rev>:<path>``) through a single
    `git cat-file --batch` process, started on first use and ended by `close` (or when the
    reader is collected)."""

    def __init__(self, git_dir: Path, env: Mapping[str, str]) -> None:
        self.git_dir, self._env = git_dir, dict(env)
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, name: str) -> tuple[str, bytes] | None:
        """(object type, bytes) of the object `name` names; None when the repository does not
        have it. SourceError when git cannot be run or breaks off."""
        if not name or "\n" in name:
            return None
        proc = self._started()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:  # "<name> missing" / "<name> ambiguous" / broken off
                if not header:
                    raise OSError("no answer")
                return None
            size = int(header[2])
            data = proc.stdout.read(size + 1)
        except (OSError, ValueError) as e:
            self.close()
            raise SourceError(f"`git cat-file --batch` broke off in {self.git_dir}: {e}") from e
        if len(data) != size + 1:
            self.close()
            raise SourceError(f"`git cat-file --batch` broke off in {self.git_dir}")
        return header[1].decode("ascii"), data[:size]

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    ["git", "--git-dir", str(self.git_dir), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=self._env,
                )
            except OSError as e:
                raise SourceError(
                    f"git could not be run: {e}", hint="install git and make sure it is on PATH"
                ) from e
            self._finalizer = weakref.finalize(self, _end, self._proc)
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            self._finalizer()
            self._proc = None


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Let a `cat-file --batch` process end (its input closed), killing it if it lingers."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
