"""Plain `git` processes on one repository: commands, and a long-lived `cat-file --batch` reader."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from praxis_upgrade.errors import SourceError
from praxis_upgrade.util.fs import CHUNK

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
    stdin: bytes | bytearray = b"",
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
    reader is collected). Any failure or interruption mid-answer ends the process, so a later
    read never takes the rest of an old answer for its own."""

    def __init__(self, git_dir: Path, env: Mapping[str, str]) -> None:
        self.git_dir, self._env = git_dir, dict(env)
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, name: str) -> tuple[str, bytes] | None:
        """(object type, bytes) of the object `name` names; None when the repository does not
        have it (or git's batch protocol cannot carry the name). SourceError when git cannot
        be run or breaks off."""
        found = self._one(name)
        return None if found is None else found[1:]

    def object_id(self, name: str) -> str | None:
        """The full id of the object `name` names (``HEAD^{commit}``, ``v1.5.0``), None when
        there is none; asked of the running reader, not of a new `git rev-parse`."""
        found = self._one(name)
        return None if found is None else found[0]

    def _one(self, name: str) -> tuple[str, str, bytes] | None:
        """(id, type, bytes) of one object, or None (see `read`)."""
        if not _askable(name):
            return None
        proc = self._started()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(_encoded(name) + b"\n")
            proc.stdin.flush()
            answer = _answer(proc.stdout)
            if answer is None:
                return None
            data = proc.stdout.read(answer[2])
            if len(data) != answer[2]:
                raise OSError("cut short")
            _object_end(proc.stdout)
        except BaseException as e:
            self._abort()
            if isinstance(e, (OSError, ValueError)):
                raise self._broke(e) from e
            raise
        return answer[0], answer[1], data

    def read_many(self, names: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        """name -> (object type, bytes) for every name among `names` the repository has, all
        asked at once (for many small objects, such as trees). SourceError as `read`."""
        found: dict[str, tuple[str, bytes]] = {}

        def keep(name: str, kind: str, size: int, out: IO[bytes]) -> None:
            data = out.read(size)
            if len(data) != size:
                raise OSError("cut short")
            found[name] = (kind, data)

        self._batch(names, keep)
        return found

    def sha256s(self, names: Iterable[str]) -> dict[str, str]:
        """name -> sha256 of the blob's bytes, for every name among `names` that names a blob
        here: all asked at once and each streamed through the hash (none held whole).
        SourceError when git cannot be run or breaks off."""
        found: dict[str, str] = {}

        def digest(name: str, kind: str, size: int, out: IO[bytes]) -> None:
            left, hashed = size, hashlib.sha256()
            while left:
                chunk = out.read(min(left, CHUNK))
                if not chunk:
                    raise OSError("cut short")
                hashed.update(chunk)
                left -= len(chunk)
            if kind == "blob":
                found[name] = hashed.hexdigest()

        self._batch(names, digest)
        return found

    def _batch(
        self, names: Iterable[str], take: Callable[[str, str, int, IO[bytes]], None]
    ) -> None:
        """Ask for all `names` at once; `take(name, type, size, stdout)` reads each object's
        `size` bytes as it arrives (a missing one is skipped)."""
        wanted = sorted({n for n in names if _askable(n)})
        if not wanted:
            return
        proc = self._started()
        assert proc.stdin is not None and proc.stdout is not None
        # names go in from a thread: git answers while it reads, and a full pipe either way
        # must not stop the other side
        asked = b"".join(_encoded(n) + b"\n" for n in wanted)
        feeder = threading.Thread(target=_feed, args=(proc.stdin, asked), daemon=True)
        feeder.start()
        try:
            for name in wanted:
                answer = _answer(proc.stdout)
                if answer is not None:
                    take(name, answer[1], answer[2], proc.stdout)
                    _object_end(proc.stdout)
        except BaseException as e:  # Ctrl-C included: git is ended first, which frees the feeder
            self._abort()
            feeder.join()
            if isinstance(e, (OSError, ValueError)):
                raise self._broke(e) from e
            raise
        feeder.join()

    def _broke(self, e: BaseException) -> SourceError:
        return SourceError(f"`git cat-file --batch` broke off in {self.git_dir}: {e}")

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

    def _abort(self) -> None:
        """End git at once (mid-answer: what it has not said is of no use) and let it go."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()
            self.close()

    def close(self) -> None:
        if self._proc is not None:
            self._finalizer()
            self._proc = None


def _askable(name: str) -> bool:
    """Whether git's batch protocol carries `name` as it is (a line; git drops a trailing CR
    and stops at NUL)."""
    return bool(name) and not any(c in name for c in "\n\r\0")


def _encoded(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _answer(out: IO[bytes]) -> tuple[str, str, int] | None:
    """(id, type, size) from the header of the next answer; None for ``<name> missing`` (or
    ``ambiguous``). OSError when git stopped or said something else."""
    line = out.readline()
    if not line.endswith(b"\n"):
        raise OSError("no answer")
    words = line.split()
    if words and words[-1] in (b"missing", b"ambiguous"):
        return None
    if len(words) != 3 or not words[2].isdigit():
        raise OSError(f"unexpected answer {line[:80]!r}")
    return words[0].decode("ascii", "replace"), words[1].decode("ascii", "replace"), int(words[2])


def _object_end(out: IO[bytes]) -> None:
    if out.read(1) != b"\n":
        raise OSError("out of step")


def _feed(pipe: IO[bytes], asked: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):  # git went away or was ended: the reader
        # sees it
        for start in range(0, len(asked), 1 << 16):
            pipe.write(asked[start : start + (1 << 16)])
        pipe.flush()


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Let a `cat-file --batch` process end (its input closed), killing it if it lingers. Its
    output is closed first: git then stops writing, so a thread still feeding it names is let go
    before its input is closed."""
    for pipe in (proc.stdout, proc.stdin):
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
