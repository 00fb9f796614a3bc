"""The praxis-os source clone, read through GitPython (the only module that imports git)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import git

from praxis_upgrade.errors import SourceError
from praxis_upgrade.source import layout

_VERSION_RE = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.+-]+)?)")
_DIR, _LINK, _GITLINK = 0o040000, 0o120000, 0o160000


class MissingObject(SourceError):
    """A commit or blob the plan needs is not in the source clone (shallow or rewritten)."""


@dataclass(frozen=True)
class Entry:
    """One installable file of a source revision, keyed by its target path."""

    git_blob: str
    mode: int
    size: int


@dataclass(frozen=True)
class HistoryCommit:
    """One commit of the source history: its time, tags, and the managed subtrees it holds."""

    sha: str
    time: int
    tags: tuple[str, ...]
    parts: tuple[tuple[int, bytes], ...]  # (rule index, subtree binsha) for each present rule


@dataclass
class HistoryIndex:
    """Every version each managed path ever had, built in one pass over the history.

    `versions[target_rel][git_blob]` is the newest commit holding that blob at that path.
    `files(part)` lists `(target_rel, git_blob, mode)` of one subtree, shared between commits.
    """

    commits: list[HistoryCommit]
    versions: dict[str, dict[str, str]]
    _flat: dict[tuple[int, bytes], list[tuple[str, str, int]]] = field(default_factory=dict)

    def files(self, part: tuple[int, bytes]) -> list[tuple[str, str, int]]:
        return self._flat[part]


def git_blob_id(data: bytes) -> str:
    """The id `git hash-object` gives these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _file_mode(git_mode: int) -> int:
    return 0o755 if git_mode & 0o111 else 0o644


def _parse_tree(data: bytes) -> list[tuple[int, str, bytes]]:
    out, i, n = [], 0, len(data)
    while i < n:
        sp = data.index(b" ", i)
        nul = data.index(b"\0", sp)
        name = data[sp + 1 : nul].decode("utf-8", "surrogateescape")
        out.append((int(data[i:sp], 8), name, data[nul + 1 : nul + 21]))
        i = nul + 21
    return out


class SourceRepo:
    """A praxis-os source clone: revisions, installable trees, blobs and history."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()
        hint = "pass --source PATH_TO_PRAXIS_OS_CLONE (a git clone of the praxis-os repository)"
        if not self.path.is_dir():
            raise SourceError(f"source {self.path} does not exist", hint=hint)
        try:
            self._repo = git.Repo(self.path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
            raise SourceError(f"source {self.path} is not a git repository", hint=hint) from e
        missing = [d for d in ("universal", "mcp_server") if not (self.path / d).is_dir()]
        if missing:
            raise SourceError(
                f"{self.path} is not a praxis-os source clone (missing {', '.join(missing)}/)",
                hint=hint,
            )
        # git exports GIT_DIR & co. while hooks run; pin them to this repository
        self._repo.git.update_environment(
            GIT_DIR=str(self._repo.git_dir),
            GIT_WORK_TREE=str(self.path),
            GIT_INDEX_FILE=str(Path(self._repo.git_dir) / "index"),
        )
        self._trees: dict[bytes, list[tuple[int, str, bytes]]] = {}

    def close(self) -> None:
        self._repo.close()

    # -- revisions -----------------------------------------------------------------------
    @property
    def head(self) -> str:
        return self.resolve("HEAD")

    def resolve(self, rev: str) -> str:
        """The full commit sha of `rev` (branch, tag, sha, HEAD~n)."""
        try:
            return str(self._repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")).strip()
        except git.GitCommandError as e:
            raise SourceError(
                f"revision {rev!r} does not exist in {self.path}",
                hint="pass a branch, tag or commit of the source clone (see `git tag` there)",
            ) from e

    def has_commit(self, rev: str) -> bool:
        try:
            self.resolve(rev)
            return True
        except SourceError:
            return False

    def version(self, rev: str = "HEAD") -> str:
        """`VERSION.txt` of the source at `rev`, else `git describe --tags`, else the short sha."""
        sha = self.resolve(rev)
        try:
            text = self.read(sha, "VERSION.txt").decode("utf-8", "replace")
            found = _VERSION_RE.search(text)
            if found:
                return found.group(0) if found.group(0).startswith("v") else found.group(1)
        except SourceError:
            pass
        try:
            return str(self._repo.git.describe("--tags", sha)).strip()
        except git.GitCommandError:
            return sha[:10]

    def is_dirty(self) -> bool:
        """True when installable trees have uncommitted or untracked (not ignored) files."""
        return bool(self.dirty_paths())

    def dirty_paths(self) -> list[str]:
        out = self._repo.git.status(
            "--porcelain", "-z", "--untracked-files=all", "--", *layout.INSTALLABLE_SOURCE_DIRS
        )
        paths, parts, i = [], out.split("\0"), 0
        while i < len(parts):
            item = parts[i]
            i += 1
            if len(item) < 4:
                continue
            if item[0] in "RC":
                i += 1  # the rename's original path follows
            if layout.to_target(item[3:]) is not None:
                paths.append(item[3:])
        return paths

    # -- how much history the clone has ---------------------------------------------------
    def history_gaps(self) -> list[str]:
        """Why this clone may not hold every released version: ``shallow`` (``--depth``),
        ``single-branch`` (only some branches fetched), ``partial`` (``--filter``: objects are
        fetched on demand from the remote). Empty for a full clone."""
        gaps = []
        if self._git("rev-parse", "--is-shallow-repository") == "true":
            gaps.append("shallow")
        remotes = self._git("remote").split()
        for remote in remotes:
            fetch = self._git("config", "--get-all", f"remote.{remote}.fetch").split()
            if fetch and not any("*" in spec.split(":")[0] for spec in fetch):
                gaps.append("single-branch")
                break
        promisors = [r for r in remotes if self._git("config", "--get", f"remote.{r}.promisor")]
        if promisors or self._git("config", "--get", "extensions.partialclone"):
            gaps.append("partial")
        return gaps

    def incomplete_history(self) -> bool:
        """Whether older releases may be missing: a shallow clone. (A single-branch clone has
        every release tagged on its branch; a partial one fetches objects on demand.)"""
        return "shallow" in self.history_gaps()

    def remotes(self) -> list[str]:
        return self._git("remote").split()

    def fetch_history(self) -> list[str]:
        """Fetch what the gaps leave out from the clone's remotes (asked for with
        ``--fetch-history``); returns the git commands run. SourceError when git fails."""
        gaps, done = self.history_gaps(), []
        for remote in self.remotes():
            args = ["fetch", "--quiet", "--tags"]
            if "shallow" in gaps:
                args.append("--unshallow")
            try:
                self._repo.git.execute(["git", *args, remote])
            except git.GitCommandError as e:
                raise SourceError(
                    f"fetching the history of {self.path} from {remote} failed: "
                    f"{str(e.stderr or e).strip()}",
                    hint=f"fetch it yourself (`git -C {self.path} {' '.join(args)} {remote}`), "
                    "or use a full clone",
                ) from e
            done.append(f"git {' '.join(args)} {remote}")
            gaps = [g for g in gaps if g != "shallow"]
        return done

    def _git(self, *args: str) -> str:
        try:
            return str(self._repo.git.execute(["git", *args])).strip()
        except git.GitCommandError:
            return ""

    # -- trees and blobs -----------------------------------------------------------------
    def tree(self, rev: str) -> dict[str, Entry]:
        """Every file `rev` installs, keyed by its target path (symlinks and submodules skipped)."""
        sha = self.resolve(rev)
        out = self._repo.git.ls_tree(
            "-r", "-l", "-z", "--full-tree", sha, "--", *layout.INSTALLABLE_SOURCE_DIRS
        )
        entries: dict[str, Entry] = {}
        for line in out.split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            mode, kind, blob, size = meta.split()
            if kind != "blob" or int(mode, 8) == _LINK:
                continue
            target_rel = layout.to_target(path)
            if target_rel is not None:
                entries[target_rel] = Entry(blob, _file_mode(int(mode, 8)), int(size))
        return entries

    def blob(self, git_sha: str) -> bytes:
        """The bytes of one blob; MissingObject when the clone does not have it."""
        try:
            return bytes(self._repo.odb.stream(bytes.fromhex(git_sha)).read())
        except (ValueError, git.BadObject, git.BadName, git.GitCommandError) as e:
            raise MissingObject(
                f"object {git_sha[:10]} is not in the source clone {self.path}",
                hint="fetch the full history there (`git fetch --unshallow --tags`)",
            ) from e

    def read(self, rev: str, src_rel: str) -> bytes:
        """The bytes of `src_rel` (a source path) at `rev`."""
        try:
            item = self._repo.commit(rev).tree / src_rel
        except (KeyError, ValueError, git.BadName, git.BadObject) as e:
            raise MissingObject(f"{src_rel} does not exist at {rev} in {self.path}") from e
        return self.blob(item.hexsha)

    # -- history (for adoption) ----------------------------------------------------------
    def _tree(self, binsha: bytes) -> list[tuple[int, str, bytes]]:
        cached = self._trees.get(binsha)
        if cached is None:
            cached = _parse_tree(self._repo.odb.stream(binsha).read())
            self._trees[binsha] = cached
        return cached

    def _subtree(self, root: bytes, path: str) -> bytes | None:
        current = root
        for name in path.split("/"):
            for mode, entry_name, sha in self._tree(current):
                if entry_name == name and mode == _DIR:
                    current = sha
                    break
            else:
                return None
        return current

    def _flatten(
        self, binsha: bytes, cache: dict[bytes, list[tuple[str, str, int]]]
    ) -> list[tuple[str, str, int]]:
        if binsha in cache:
            return cache[binsha]
        out: list[tuple[str, str, int]] = []
        for mode, name, sha in self._tree(binsha):
            if mode == _DIR:
                out.extend((f"{name}/{p}", b, m) for p, b, m in self._flatten(sha, cache))
            elif mode not in (_LINK, _GITLINK):
                out.append((name, sha.hex(), _file_mode(mode)))
        cache[binsha] = out
        return out

    def history_index(self, paths: Iterable[str] | None = None) -> HistoryIndex:
        """One pass over every commit reachable from any ref (newest first)."""
        wanted = set(paths) if paths is not None else None
        tags: dict[str, list[str]] = {}
        for line in self._repo.git.for_each_ref(
            "--format=%(objectname) %(*objectname) %(refname:short)", "refs/tags"
        ).splitlines():
            obj, peeled, name = line.split(" ", 2)
            tags.setdefault(peeled or obj, []).append(name)
        # every branch, tag and remote branch, never the stash (it holds uncommitted edits)
        lines = self._repo.git.log(
            "--branches", "--tags", "--remotes", "HEAD", "--date-order", "--format=%H %T %ct"
        ).splitlines()
        rel_cache: dict[bytes, list[tuple[str, str, int]]] = {}
        index = HistoryIndex(commits=[], versions={})
        seen: set[str] = set()
        for line in lines:
            sha, tree_sha, ctime = line.split()
            if sha in seen:
                continue
            seen.add(sha)
            parts = []
            for i, rule in enumerate(layout.RULES):
                sub = self._subtree(bytes.fromhex(tree_sha), rule.source.rstrip("/"))
                if sub is None:
                    continue
                parts.append((i, sub))
                if (i, sub) not in index._flat:
                    flat = []
                    for rel, blob, mode in self._flatten(sub, rel_cache):
                        target_rel = layout.to_target(rule.source + rel)
                        if target_rel is not None:
                            flat.append((target_rel, blob, mode))
                            if wanted is None or target_rel in wanted:
                                index.versions.setdefault(target_rel, {}).setdefault(blob, sha)
                    index._flat[(i, sub)] = flat
            index.commits.append(
                HistoryCommit(sha, int(ctime), tuple(sorted(tags.get(sha, []))), tuple(parts))
            )
        return index
