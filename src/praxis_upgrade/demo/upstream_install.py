"""Emulation of upstream's installer: copy a release into `.praxis-os/`, create user dirs, IDE
files."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from git import Repo

from praxis_upgrade.demo import texts as c
from praxis_upgrade.demo.releases import Release
from praxis_upgrade.demo.source_shape import installed_path

USER_DIRS = (
    "standards/development",
    "workflows",
    "specs/review",
    "specs/approved",
    "specs/completed",
    "workspace/design",
    "workspace/analysis",
    "workspace/scratch",
    ".cache/vector_index",
)
GITIGNORE_BLOCK = (
    "# prAxIs OS\n.praxis-os/.cache/\n.praxis-os/venv/\n.praxis-os/.mcp_server_state.json\n"
)
LEGACY_DIR = ".agent-os"  # where upstream installed before the 2025-10-27 rename
DEV_STANDARDS = ("python-testing", "python-concurrency", "project-architecture")


def release_files(source: Path, tag: str) -> dict[str, tuple[bytes, int]]:
    """Installed path -> (bytes, mode) for every file `tag` installs into `.praxis-os/`."""
    buf = io.BytesIO()
    with Repo(source) as repo:
        repo.archive(buf, treeish=tag, format="tar")
    buf.seek(0)
    out: dict[str, tuple[bytes, int]] = {}
    with tarfile.open(fileobj=buf) as tar:
        for member in tar:
            dest = installed_path(member.name) if member.isfile() else None
            extracted = tar.extractfile(member) if dest else None
            if dest and extracted is not None:
                out[dest] = (extracted.read(), member.mode & 0o777)
    return out


def install(praxis: Path, files: dict[str, tuple[bytes, int]], seed: int) -> list[str]:
    """Copy `files` into `praxis` like `install-praxis-os.py`; returns the user files it created."""
    for rel_path, (data, mode) in files.items():
        dest = praxis / rel_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        dest.chmod(mode or 0o644)
    for d in USER_DIRS:
        (praxis / d).mkdir(parents=True, exist_ok=True)
    (praxis / "standards" / ".rebuild_index").touch()
    created = []
    for name in DEV_STANDARDS:
        rel_path = f"standards/development/{name}.md"
        rng = c.rng_for(seed, rel_path)
        (praxis / rel_path).write_text(
            c.markdown_doc(rng, name.replace("-", " ").title(), 2500), encoding="utf-8"
        )
        created.append(rel_path)
    return created


def write_config(praxis: Path) -> str:
    config = {
        "rag": {
            "standards_path": f"{praxis.name}/standards",
            "workflows_path": f"{praxis.name}/workflows",
            "index_path": f"{praxis.name}/.cache/vector_index",
            "embedding_provider": "local",
        },
        "mcp": {"enabled_tool_groups": ["rag", "workflow", "browser"], "max_tools_warning": 20},
    }
    (praxis / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return "config.json"


def mcp_json(rel: Release, dot_dir: str = ".praxis-os") -> dict[str, object]:
    """The project's `.cursor/mcp.json` as the installer guide of `rel` writes it (into
    `dot_dir`: `.agent-os` for installs made before the rename)."""
    args = ["-m", "mcp_server"]
    if rel.transport_required:
        args += ["--transport", "dual"]
    return {
        "mcpServers": {
            rel.mcp_server_key: {
                "command": f"${{workspaceFolder}}/{dot_dir}/venv/bin/python",
                "args": args,
                "env": {
                    "PROJECT_ROOT": "${workspaceFolder}",
                    "PYTHONPATH": f"${{workspaceFolder}}/{dot_dir}",
                    "PYTHONUNBUFFERED": "1",
                },
                "autoApprove": ["search_standards", "get_server_info"],
            }
        }
    }


def write_ide_files(project: Path, rel: Release, dot_dir: str = ".praxis-os") -> None:
    cursor = project / ".cursor"
    cursor.mkdir(exist_ok=True)
    text = json.dumps(mcp_json(rel, dot_dir), indent=2) + "\n"
    (cursor / "mcp.json").write_text(text, encoding="utf-8")
    gitignore = project / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if f"{dot_dir}/.cache/" not in existing:
        block = GITIGNORE_BLOCK.replace(".praxis-os/", f"{dot_dir}/")
        gitignore.write_text(existing + ("\n" if existing else "") + block, encoding="utf-8")
