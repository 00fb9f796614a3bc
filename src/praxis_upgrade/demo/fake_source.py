"""The fake praxis-os source: a git repository with one commit and annotated tag per release."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from git import Repo

from praxis_upgrade.demo.history import build_history
from praxis_upgrade.demo.wheels import FAKEDEP_VERSIONS, fakedep_wheel

AUTHOR = ("prAxIs OS Sandbox", "sandbox@praxis-os.invalid")


@dataclass(frozen=True)
class Source:
    """A generated praxis-os clone; `tags` oldest first (`tags[-1]` is checked out)."""

    path: Path
    tags: list[str]


# git's housekeeping after a commit runs in the foreground: a detached `gc --auto` (thousands
# of loose objects at scale 10 and up) would still be packing while the sandbox is copied
FOREGROUND_GC = {
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "gc.autoDetach",
    "GIT_CONFIG_VALUE_0": "false",
    "GIT_CONFIG_KEY_1": "maintenance.autoDetach",
    "GIT_CONFIG_VALUE_1": "false",
}


def _git_env(date: str) -> dict[str, str]:
    name, email = AUTHOR
    return {
        **FOREGROUND_GC,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def make_source(path: Path, *, scale: float = 1, seed: int = 0) -> Source:
    """Create a praxis-os-like git repo at `path` with tags v1.3.0 .. v1.6.0 (deterministic).

    Every tag also carries `wheels/fakedep-{1.0,2.0}-py3-none-any.whl`, so an install can run
    ``pip install --no-index --find-links <path>/wheels -r mcp_server/requirements.txt``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    wheels = dict(fakedep_wheel(v) for v in FAKEDEP_VERSIONS)
    history = build_history(scale, seed)
    tags: list[str] = []
    with Repo.init(path, initial_branch="main") as repo:
        with repo.config_writer() as cw:
            cw.set_value("core", "autocrlf", "false")
            # serve partial clones as hosting services do (clone_source(..., blobless=True))
            cw.set_value("uploadpack", "allowFilter", "true")
            cw.set_value("uploadpack", "allowAnySHA1InWant", "true")
        previous: dict[str, bytes] = {}
        for rel, files in history:
            files = {**files, **{f"wheels/{name}": data for name, data in wheels.items()}}
            for gone in previous.keys() - files.keys():
                (path / gone).unlink()
            for rel_path, data in files.items():
                if previous.get(rel_path) == data:
                    continue
                target = path / rel_path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                if rel_path.endswith(".sh"):
                    target.chmod(0o755)
            _remove_empty_dirs(path, previous.keys() - files.keys())
            with repo.git.custom_environment(**_git_env(rel.date)):
                repo.git.add("-A")
                repo.git.commit("-q", "--no-verify", "-m", f"prAxIs OS {rel.version}")
                repo.git.tag("-a", rel.tag, "-m", f"prAxIs OS {rel.version}")
            tags.append(rel.tag)
            previous = files
        # packed, as every clone from a hosting service is (loose objects would make reading
        # and packing from it several times slower than from a real clone)
        repo.git.repack("-a", "-d", "-q")
    return Source(path=path, tags=tags)


def _remove_empty_dirs(root: Path, removed: set[str]) -> None:
    for rel_path in sorted(removed, key=len, reverse=True):
        parent = (root / rel_path).parent
        while parent != root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def clone_source(
    source: Source,
    dest: Path,
    *,
    depth: int | None = None,
    single_branch: bool = False,
    blobless: bool = False,
) -> Source:
    """Clone `source` the ways users do (``--depth``, ``--single-branch``, ``--filter=blob:none``)
    with the real git command over a ``file://`` URL, so the clone has a remote to fetch from."""
    args = ["git", "clone", "--quiet"]
    if depth is not None:
        args += ["--depth", str(depth)]
    if single_branch:
        args.append("--single-branch")
    if blobless:
        args.append("--filter=blob:none")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    if blobless:  # the "server" side must allow filters, as hosting services do
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="uploadpack.allowFilter",
            GIT_CONFIG_VALUE_0="true",
        )
    subprocess.run([*args, Path(source.path).resolve().as_uri(), str(dest)], check=True, env=env)
    listed = subprocess.run(
        ["git", "-C", str(dest), "tag", "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    return Source(path=Path(dest), tags=[t for t in source.tags if t in listed])
