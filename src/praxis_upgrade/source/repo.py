"""The praxis-os source clone, read through GitPython (the only module that imports git)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from praxis_upgrade.errors import SourceError
from praxis_upgrade.source import layout
from praxis_upgrade.source.gitproc import GitFailed, ObjectReader, git_env, run

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
        self.given = Path(path)  # as asked for (`path` is it resolved)
        self.path = self.given.expanduser().resolve()
        hint = "pass --source PATH_TO_PRAXIS_OS_CLONE (a git clone of the praxis-os repository)"
        if not self.path.is_dir():
            raise SourceError(f"source {self.path} does not exist", hint=hint)
        try:  # the clone itself, never a repository around it
            found = run(["rev-parse", "--absolute-git-dir", "--show-toplevel"], cwd=self.path)
            git_dir, top = found.decode("utf-8", "surrogateescape").splitlines()
        except (GitFailed, ValueError) as e:
            said = getattr(e, "stderr", "")
            if "dubious ownership" in said:  # safe.directory: a clone owned by another user
                raise SourceError(
                    f"git refuses to read the source {self.path}: it is owned by another user",
                    hint="run praxis-upgrade as the clone's owner, or, if you trust it, "
                    f"`git config --global --add safe.directory {self.path}`",
                ) from e
            why = "" if not said or "not a git repository" in said else f" ({said})"
            raise SourceError(f"source {self.path} is not a git repository{why}", hint=hint) from e
        if Path(top).resolve() != self.path:
            raise SourceError(f"source {self.path} is not a git repository", hint=hint)
        missing = [d for d in ("universal", "mcp_server") if not (self.path / d).is_dir()]
        if missing:
            raise SourceError(
                f"{self.path} is not a praxis-os source clone (missing {', '.join(missing)}/)",
                hint=hint,
            )
        self.git_dir = Path(git_dir)
        # git exports GIT_DIR & co. while hooks run; pin them to this repository
        self._env = git_env(
            GIT_DIR=str(self.git_dir),
            GIT_WORK_TREE=str(self.path),
            GIT_INDEX_FILE=str(self.git_dir / "index"),
        )
        self._objects = ObjectReader(self.git_dir, self._env)
        self._trees: dict[bytes, list[tuple[int, str, bytes]]] = {}
        self._commits: set[str] = set()  # full ids `resolve` verified

    def close(self) -> None:
        self._objects.close()

    def _run(self, *args: str) -> str:
        """Stdout of `git <args>` in this clone, without its final newline; GitFailed."""
        out = run(list(args), cwd=self.path, env=self._env)
        return out.decode("utf-8", "surrogateescape").removesuffix("\n")

    # -- revisions -----------------------------------------------------------------------
    @property
    def head(self) -> str:
        return self.resolve("HEAD")

    def resolve(self, rev: str) -> str:
        """The full commit sha of `rev` (branch, tag, sha, HEAD~n)."""
        if rev in self._commits:  # a commit id once found stays one; names (HEAD) are asked
            return rev
        try:
            sha = self._objects.object_id(f"{rev}^{{commit}}")
        except SourceError:  # git's reader dies on some names (`main@{99}`, `@{upstream}`)
            sha = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") or None
        if sha is None:
            raise SourceError(
                f"revision {rev!r} does not exist in {self.path}",
                hint="pass a branch, tag or commit of the source clone (see `git tag` there)",
            )
        self._commits.add(sha)
        return sha

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
            return self._run("describe", "--tags", sha).strip()
        except GitFailed:
            return sha[:10]

    def is_dirty(self) -> bool:
        """True when installable trees have uncommitted or untracked (not ignored) files."""
        return bool(self.dirty_paths())

    def dirty_paths(self) -> list[str]:
        out = self._run(
            "status",
            "--porcelain",
            "-z",
            "--untracked-files=all",
            "--",
            *layout.INSTALLABLE_SOURCE_DIRS,
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
                self._run(*args, remote)
            except GitFailed as e:
                raise SourceError(
                    f"fetching the history of {self.path} from {remote} failed: "
                    f"{(e.stderr or str(e)).strip()}",
                    hint=f"fetch it yourself (`git -C {self.path} {' '.join(args)} {remote}`), "
                    "or use a full clone",
                ) from e
            done.append(f"git {' '.join(args)} {remote}")
            gaps = [g for g in gaps if g != "shallow"]
        # a running reader keeps the shallow boundary it read at its start: begin anew
        self._objects.close()
        self._commits.clear()
        return done

    def _git(self, *args: str) -> str:
        """Stdout of `git <args>` stripped, or "" when git says no."""
        try:
            return self._run(*args).strip()
        except GitFailed:
            return ""

    # -- trees and blobs -----------------------------------------------------------------
    def tree(self, rev: str) -> dict[str, Entry]:
        """Every file `rev` installs, keyed by its target path (symlinks and submodules skipped)."""
        sha = self.resolve(rev)
        out = self._run(
            "ls-tree", "-r", "-l", "-z", "--full-tree", sha, "--", *layout.INSTALLABLE_SOURCE_DIRS
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
        found = self._objects.read(git_sha) if _OBJECT_ID.match(git_sha) else None
        if found is None or found[0] != "blob":
            raise MissingObject(
                f"object {git_sha[:10]} is not in the source clone {self.path}",
                hint="fetch the full history there (`git fetch --unshallow --tags`)",
            )
        return found[1]

    def sha256s(self, blobs: Iterable[str]) -> dict[str, str]:
        """git blob id -> sha256 of its bytes, for every id among `blobs` the clone holds:
        streamed through one `git cat-file --batch` (no round trip per blob, none read whole)."""
        return self._objects.sha256s(b for b in blobs if _OBJECT_ID.match(b))

    def read(self, rev: str, src_rel: str) -> bytes:
        """The bytes of `src_rel` (a source path) at `rev`."""
        found = self._objects.read(f"{rev}:{src_rel}")
        if found is None or found[0] != "blob":
            raise MissingObject(f"{src_rel} does not exist at {rev} in {self.path}")
        return found[1]

    # -- copying blobs out (the install's blob cache) -------------------------------------
    def present_blobs(self, ids: Iterable[str]) -> set[str]:
        """The blob ids among `ids` this clone holds (a shallow or rewritten one lacks some), as
        `present_objects` asks; SourceError when git fails."""
        return present_objects(self.git_dir, ids)

    def pack_blobs(self, blobs: Iterable[tuple[str, str]], pack_base: Path) -> str:
        """Copy these blobs ((id, path) pairs; the path guides delta pairing) of this clone into one
        delta-compressed pack `<pack_base>-<name>.pack` (+ `.idx`), streamed by `git pack-objects`;
        returns its name. SourceError when git fails (a blob missing included)."""
        return pack_objects(self.git_dir, blobs, pack_base)

    # -- history (for adoption) ----------------------------------------------------------
    def _tree(self, binsha: bytes) -> list[tuple[int, str, bytes]]:
        cached = self._trees.get(binsha)
        if cached is None:
            found = self._objects.read(binsha.hex())
            if found is None or found[0] != "tree":
                raise MissingObject(
                    f"tree {binsha.hex()[:10]} is not in the source clone {self.path}"
                )
            cached = _parse_tree(found[1])
            self._trees[binsha] = cached
        return cached

    def _read_trees(self, binshas: Iterable[bytes]) -> None:
        """Read and keep the trees among `binshas` not read yet, in one batch."""
        wanted = {b.hex() for b in binshas if b not in self._trees}
        for name, (kind, data) in self._objects.read_many(wanted).items():
            if kind == "tree":
                self._trees[bytes.fromhex(name)] = _parse_tree(data)

    def _read_history_trees(self, roots: set[bytes]) -> None:
        """Read every tree the history walk needs, a level at a time in one batch each instead
        of a round trip each: the roots, the way down to each rule's folder, and all below
        those folders. (A tree not read here is read when it is reached.)"""
        self._read_trees(roots)
        below: set[bytes] = set()
        for rule in layout.RULES:
            level = roots
            for name in rule.source.rstrip("/").split("/"):
                level = {
                    sha
                    for tree in level
                    for mode, entry, sha in self._trees.get(tree, ())
                    if entry == name and mode == _DIR
                }
                self._read_trees(level)
            below |= level
        while below:
            below = {
                sha
                for tree in below
                for mode, _entry, sha in self._trees.get(tree, ())
                if mode == _DIR and sha not in self._trees
            }
            self._read_trees(below)

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

    def _walk(self, binsha: bytes, prefix: str, out: list[tuple[str, bytes, int]]) -> None:
        """Append (`prefix` + path, blob id, file mode) of every file below the tree `binsha`
        (links and submodules skipped)."""
        for mode, name, sha in self._tree(binsha):
            if mode == _DIR:
                self._walk(sha, f"{prefix}{name}/", out)
            elif mode not in (_LINK, _GITLINK):
                out.append((f"{prefix}{name}", sha, _file_mode(mode)))

    def history_index(self, paths: Iterable[str] | None = None) -> HistoryIndex:
        """One pass over every commit reachable from any ref (newest first)."""
        wanted = set(paths) if paths is not None else None
        tags: dict[str, list[str]] = {}
        for line in self._run(
            "for-each-ref", "--format=%(objectname) %(*objectname) %(refname:short)", "refs/tags"
        ).splitlines():
            obj, peeled, name = line.split(" ", 2)
            tags.setdefault(peeled or obj, []).append(name)
        # every branch, tag and remote branch, never the stash (it holds uncommitted edits)
        lines = self._run(
            "log", "--branches", "--tags", "--remotes", "HEAD", "--date-order", "--format=%H %T %ct"
        ).splitlines()
        self._read_history_trees({bytes.fromhex(line.split()[1]) for line in lines})
        # one string per path and per blob id, shared by every commit that holds it
        targets: dict[str, str | None] = {}
        hexes: dict[bytes, str] = {}
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
                    files: list[tuple[str, bytes, int]] = []
                    self._walk(sub, rule.source, files)
                    flat = []
                    for src, binsha, mode in files:
                        if src not in targets:
                            targets[src] = layout.to_target(src)
                        target_rel = targets[src]
                        if target_rel is not None:
                            blob = hexes.get(binsha)
                            if blob is None:
                                blob = hexes[binsha] = binsha.hex()
                            flat.append((target_rel, blob, mode))
                            if wanted is None or target_rel in wanted:
                                index.versions.setdefault(target_rel, {}).setdefault(blob, sha)
                    index._flat[(i, sub)] = flat
            index.commits.append(
                HistoryCommit(sha, int(ctime), tuple(sorted(tags.get(sha, []))), tuple(parts))
            )
        self._trees.clear()  # only the walk reads them; an adoption holds no tree after it
        return index


# -- a private object store (the install's blob cache) -------------------------------------------
_OBJECT_ID = re.compile(r"^[0-9a-f]{40}$")
ASK_BATCH = 8192  # object ids asked of one `git cat-file --batch-check` at a time
_PACK_LITTER = re.compile(r"^tmp_(?:pack|idx|rev|bitmap|mtimes)_")


def is_object_id(text: str) -> bool:
    """Whether `text` is a full SHA-1 object id (what the blob cache's object store holds)."""
    return bool(_OBJECT_ID.match(text))


def _git(git_dir: Path | None, *args: str, stdin: bytes | bytearray = b"") -> bytes:
    """Stdout of one git command on the repository `git_dir`; SourceError when it fails."""
    where = ["--git-dir", str(git_dir)] if git_dir is not None else []
    try:
        return run([*where, *args], stdin=stdin)
    except GitFailed as e:
        raise SourceError(f"`git {args[0]}` failed in {git_dir}: {e.stderr}") from e


def init_object_store(git_dir: Path) -> None:
    """Make `git_dir` a bare repository that only holds objects (no hooks, no refs), or repair
    one that lost its skeleton (git's own re-initialisation: the objects stay), and clear what a
    killed `git pack-objects` left in it. A new store is made beside it and renamed into place,
    so it exists whole or not at all. SourceError when git fails."""
    packs = git_dir / "objects" / "pack"
    if not git_dir.exists():
        git_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = git_dir.with_name(f".{git_dir.name}.{os.urandom(4).hex()}.tmp")
        _git(None, "init", "--quiet", "--bare", "--template=", str(tmp))
        try:
            os.rename(tmp, git_dir)
        except OSError:  # made meanwhile (or in the way): use what is there
            shutil.rmtree(tmp, ignore_errors=True)
        for stale in git_dir.parent.glob(f".{git_dir.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
    if not packs.is_dir() or not (git_dir / "HEAD").is_file():
        _git(None, "init", "--quiet", "--bare", "--template=", str(git_dir))
    with os.scandir(packs) as found:
        names = {e.name for e in found}
    for name in names:
        half = name.endswith(".pack") and f"{name[:-5]}.idx" not in names  # killed before its idx
        if _PACK_LITTER.match(name) or half:
            (packs / name).unlink(missing_ok=True)


def present_objects(git_dir: Path, ids: Iterable[str]) -> set[str]:
    """The object ids among `ids` the repository `git_dir` holds (`git cat-file --batch-check`,
    which reads only the pack indexes, asked `ASK_BATCH` ids at a time: its answer for tens of
    thousands is megabytes of lines); SourceError when git fails."""
    wanted = sorted({i for i in ids if _OBJECT_ID.match(i)})
    held: set[str] = set()
    for start in range(0, len(wanted), ASK_BATCH):
        asked = wanted[start : start + ASK_BATCH]
        out = _git(
            git_dir, "cat-file", "--batch-check=%(objectname)", stdin="\n".join(asked).encode()
        )
        answers = out.splitlines()  # one per id, in order: "<id>" or "<id> missing"
        if len(answers) != len(asked):
            raise SourceError(
                f"`git cat-file --batch-check` answered {len(answers)} of {len(asked)}"
            )
        # the ids asked, not copies of git's answers: at tens of thousands the strings add up
        held.update(i for i, answer in zip(asked, answers, strict=True) if answer == i.encode())
    return held


def pack_objects(git_dir: Path, objects: Iterable[tuple[str, str]], pack_base: Path) -> str:
    """Write objects ((id, path) pairs) of the repository `git_dir` as one delta-compressed pack
    `<pack_base>-<name>.pack` and its `.idx` (git writes each to a temp file and renames it, the
    pack first: a pack without its index is ignored); returns the name. SourceError when git
    fails."""
    lines = bytearray()  # one buffer, not a text and then its bytes
    for i, name in objects:
        lines += f"{i} {name.replace(chr(10), ' ')}\n".encode("utf-8", "surrogateescape")
    out = _git(
        git_dir,
        "pack-objects",
        "--quiet",
        "--window=10",
        "--depth=50",
        "--delta-base-offset",
        str(pack_base),
        stdin=lines,
    )
    return out.decode("ascii", "replace").strip()


def read_object(git_dir: Path, object_id: str) -> bytes | None:
    """One blob's bytes from the repository `git_dir`; None when it is missing or unreadable."""
    if not _OBJECT_ID.match(object_id):
        return None
    try:
        return _git(git_dir, "cat-file", "blob", object_id)
    except SourceError:
        return None


def repack_objects(git_dir: Path) -> str:
    """Put every object of the repository `git_dir` into one pack and remove the others (each
    index before its pack: git never sees an index without its pack). Objects are kept whether
    reachable or not, unlike `git repack -a -d`. Returns the new pack's name; SourceError when
    git fails (the old packs are then all kept)."""
    packs = git_dir / "objects" / "pack"
    old = sorted(packs.glob("pack-*.idx"))
    out = _git(git_dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    ids = [line for line in out.decode("ascii", "replace").splitlines() if _OBJECT_ID.match(line)]
    name = pack_objects(git_dir, ((i, "") for i in ids), packs / "pack")
    for idx in old:
        if idx.stem == f"pack-{name}":
            continue
        idx.unlink(missing_ok=True)
        for ext in (".pack", ".rev", ".bitmap", ".mtimes"):
            idx.with_suffix(ext).unlink(missing_ok=True)
    return name
