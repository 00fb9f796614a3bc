"""Small real praxis-os-like git repos and installs for the content-core tests."""

from __future__ import annotations

import os
from pathlib import Path

from git import Repo

from praxis_upgrade.content import adopt
from praxis_upgrade.content import baseline as bl
from praxis_upgrade.content.baseline import Baseline
from praxis_upgrade.source.repo import SourceRepo
from praxis_upgrade.util import fs

BASE_FILES: dict[str, bytes] = {
    "universal/standards/testing/pyramid.md": (
        b"# Test pyramid\n\nmany unit tests\nsome integration\nfew e2e\n"
    ),
    "universal/standards/ai-assistant/guide.md": b"# Guide\n\n"
    + b"".join(b"line %d\n" % i for i in range(20)),
    "universal/standards/installation/gitignore-requirements.md": (
        b"# Gitignore\n\n## TL;DR\n\n```gitignore\n.praxis-os/.cache/   # big\n```\n\n"
        b"## Required Entries\n\n```gitignore\n# prAxIs OS - Ephemeral content (do not commit)\n"
        b".praxis-os/.cache/\n.praxis-os/venv/\n.praxis-os/.upgrade_lock\n```\n"
    ),
    "universal/workflows/spec_creation_v1/metadata.json": b'{"name": "spec_creation_v1"}\n',
    "universal/workflows/spec_creation_v1/phases/1/phase.md": b"# Phase 1\n",
    "universal/templates/template.yaml": b"name: x\n",
    "mcp_server/__main__.py": b"print('server')\n",
    "mcp_server/server/tools/rag_tools.py": b"def search_standards():\n    return []\n",
    "scripts/build_rag_index.py": b"INDEX = 1\n",
    "scripts/pre-commit/check.sh": b"#!/bin/sh\nexit 0\n",
    "README.md": b"# praxis-os\n",
}


class Source:
    """A praxis-os-like repository we commit to as the test needs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.repo = Repo.init(path, initial_branch="main")

    def commit(
        self, files: dict[str, bytes | str | None], *, tag: str | None = None, msg: str = "c"
    ) -> str:
        for rel, data in files.items():
            p = self.path / rel
            if data is None:
                if p.exists():
                    p.unlink()
                    self.repo.index.remove([rel])
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode() if isinstance(data, str) else data)
            if rel.endswith(".sh"):
                p.chmod(0o755)
            self.repo.git.add(rel)
        self.repo.git.commit("-q", "--allow-empty", "-m", msg)
        if tag:
            self.repo.git.tag("-a", tag, "-m", tag)
        return self.repo.head.commit.hexsha

    def read(self, rel: str) -> bytes:
        return (self.path / rel).read_bytes()


def make_source(tmp_path: Path, files: dict[str, bytes] | None = None) -> Source:
    src = Source(tmp_path / "praxis-os")
    src.commit(dict(files if files is not None else BASE_FILES), tag="v1.0.0", msg="v1.0.0")
    return src


def install(project: Path, source: Path, rev: str = "HEAD") -> Path:
    """Copy what `rev` installs into `project/.praxis-os` (like upstream's installer)."""
    target = project / ".praxis-os"
    repo = SourceRepo(source)
    try:
        for rel, entry in repo.tree(rev).items():
            fs.atomic_write_bytes(target / rel, repo.blob(entry.git_blob), mode=entry.mode)
    finally:
        repo.close()
    (target / "config.json").write_text("{}\n")
    return target


def age(target: Path, seconds: int = 3600) -> None:
    """Move every file's mtime into the past (as if installed a while ago)."""
    for root, _dirs, names in os.walk(target):
        for name in names:
            p = os.path.join(root, name)
            st = os.stat(p)
            os.utime(p, ns=(st.st_atime_ns - seconds * 10**9, st.st_mtime_ns - seconds * 10**9))


def baseline_for(target: Path, source: Path) -> Baseline:
    """The baseline of an install, adopted from history (what `praxis-upgrade adopt` records)."""
    repo = SourceRepo(source)
    try:
        return adopt.adopt(target, repo)
    finally:
        repo.close()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- one file per row of DESIGN.md §3 ---------------------------------------------------------
S = "universal/standards/rows/"
T = "standards/universal/rows/"
TEXT = b"".join(b"line %d\n" % i for i in range(12))


def edit(data: bytes, line: int, text: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    lines[line] = text + b"\n"
    return b"".join(lines)


# name: (local change, upstream change, expected class, expected action)
# change: None = keep, "del" = delete, bytes = new content; "absent" rows start without the file
ROWS: dict[str, tuple[object, object, str, str]] = {
    "unchanged": (None, None, "unchanged", "none"),
    "upstream-changed": (None, edit(TEXT, 1, b"up"), "upstream-changed", "update"),
    "local-changed": (edit(TEXT, 1, b"mine"), None, "local-changed", "keep"),
    "both-same": (edit(TEXT, 1, b"same"), edit(TEXT, 1, b"same"), "both-same", "none"),
    "conflict": (edit(TEXT, 1, b"mine"), edit(TEXT, 1, b"up"), "conflict", "merge"),
    "both-changed": (edit(TEXT, 1, b"mine"), edit(TEXT, 10, b"up"), "both-changed", "auto-merge"),
    "upstream-deleted": (None, "del", "upstream-deleted", "delete"),
    "local-changed-upstream-deleted": (
        edit(TEXT, 1, b"mine"),
        "del",
        "local-changed-upstream-deleted",
        "keep",
    ),
    "locally-deleted": ("del", None, "locally-deleted", "stay-deleted"),
    "conflict-modify-delete": (
        "del",
        edit(TEXT, 1, b"up"),
        "conflict-modify-delete",
        "stay-deleted",
    ),
    "both-deleted": ("del", "del", "both-deleted", "none"),
}
ADDED = {  # files upstream adds: (local file created meanwhile, class, action)
    "added": (None, "added", "add"),
    "conflict-add-add": (b"my own file\n", "conflict-add-add", "merge"),
    "add-add-same": (b"same new file\n", "both-same", "none"),
}


def build_rows(tmp_path: Path) -> tuple[Source, Path]:
    """A source and an install holding one file per row of the three-way table (v1 -> v2)."""
    src = make_source(tmp_path, {**BASE_FILES, **{f"{S}{n}.md": TEXT for n in ROWS}})
    target = install(tmp_path / "project", src.path)
    age(target)
    bl.save(target, baseline_for(target, src.path))
    upstream: dict[str, bytes | str | None] = {}
    for name, (local, up, _k, _a) in ROWS.items():
        if local == "del":
            (target / f"{T}{name}.md").unlink()
        elif isinstance(local, bytes):
            (target / f"{T}{name}.md").write_bytes(local)
        if up == "del":
            upstream[f"{S}{name}.md"] = None
        elif isinstance(up, bytes):
            upstream[f"{S}{name}.md"] = up
    for name, (local, _k, _a) in ADDED.items():
        upstream[f"{S}{name}.md"] = (
            b"same new file\n" if name == "add-add-same" else b"upstream new\n"
        )
        if local is not None:
            (target / f"{T}{name}.md").write_bytes(local)
    src.commit(upstream, tag="v2.0.0")
    return src, target
