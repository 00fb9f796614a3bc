"""Shape of the fake source (categories, workflows, server/scripts file names) and root files."""

from __future__ import annotations

import json

from praxis_upgrade.demo import texts as c
from praxis_upgrade.demo.releases import Release

# category -> number of standards at scale 1 (upstream HEAD: 62 over 14 dirs); "meta" is
# meta-framework/ before v1.6.0 and meta-workflow/ after.
CATEGORIES = {
    "ai-assistant": 18,
    "ai-safety": 5,
    "architecture": 4,
    "concurrency": 4,
    "database": 1,
    "documentation": 3,
    "failure-modes": 4,
    "installation": 1,
    "meta": 5,
    "operations": 1,
    "performance": 1,
    "security": 1,
    "testing": 4,
    "workflows": 6,
}

NAMED_STANDARDS = {
    "ai-assistant": ("mcp-tool-discovery-guide", "commit-protocol", "analysis-methodology"),
    "meta-framework": ("framework-creation-principles", "three-tier-architecture"),
    "meta-workflow": ("framework-creation-principles", "three-tier-architecture"),
    "testing": ("test-pyramid",),
    "installation": ("update-procedures",),
}
USAGE_DOCS = (
    "mcp-usage-guide",
    "operating-model",
    "creating-specs",
    "ai-agent-quickstart",
    "README",
)

# workflow -> (tasks per phase, core docs, supporting docs) at scale 1 (~198 files for all five)
WORKFLOW_SHAPES = {
    "spec_creation_v1": ([4, 5, 5, 6, 5, 4], 3, 1),
    "spec_execution_v1": ([3], 2, 0),
    "workflow_creation_v1": ([5, 7, 8, 8, 7, 6], 5, 4),
    "agent_os_upgrade_v1": ([3, 3, 3, 3, 3, 3], 3, 0),
    "standards_creation_v1": ([5, 6, 6, 6, 5], 2, 0),
}

_FROZEN = (
    "installation/gitignore-requirements.md",
    "installation/windows-setup.md",
    "café-style-guide.md",
    "development-process.md",
)


def is_frozen(path: str) -> bool:
    """Files release edits never touch (special fixtures, the pure rename)."""
    return path.endswith(_FROZEN)


def is_named(path: str) -> bool:
    name = path.rsplit("/", 1)[-1][:-3]
    return (
        is_frozen(path)
        or any(name in names for names in NAMED_STANDARDS.values())
        or name in ("mcp-usage-guide", "operating-model")
    )


GITIGNORE_STANDARD = """# Gitignore Requirements

**Keywords for search**: gitignore, ephemeral, cache, venv, commit hygiene

## TL;DR

```gitignore
.praxis-os/.cache/          # ~1.3GB vector index, regenerated
.praxis-os/venv/            # ~250MB python environment
.praxis-os/.mcp_server_state.json   # runtime state
```

## Required Entries

```gitignore
# prAxIs OS - Ephemeral content (do not commit)
.praxis-os/.cache/
.praxis-os/venv/
.praxis-os/mcp_server/__pycache__/
.praxis-os/scripts/__pycache__/
.praxis-os.backup.*
.praxis-os/.upgrade_lock
```

## Why

The vector index and the virtual environment are rebuilt on every machine. Committing them
bloats the repository and breaks other developers' installs.
"""

_TOP = (
    "rag_engine",
    "state_manager",
    "workflow_engine",
    "framework_generator",
    "checkpoint_loader",
    "task_parser",
    "phase_loader",
    "project_info",
    "port_manager",
    "transport_manager",
    "config_validator",
    "observability",
    "evidence_validator",
    "session_store",
    "watcher",
    "chunker",
    "query_tracker",
)
_SUB = {"core": 9, "models": 6, "config": 4, "sub_agents": 3, "monitoring": 2, "validation": 2}
STABLE_SERVER = {"mcp_server/rag_engine.py"}
UPGRADE_COMPONENTS = tuple(
    f"mcp_server/{n}.py"
    for n in (
        "backup_manager",
        "validation_module",
        "dependency_installer",
        "server_manager",
        "report_generator",
    )
)


def server_padding(scale: float) -> list[str]:
    """Never-imported modules giving `mcp_server/` its real size (~65 files at scale 1)."""
    names = [f"mcp_server/{n}.py" for n in _TOP]
    names += ["mcp_server/server/tools/dispatcher.py", "mcp_server/server/factory.py"]
    for sub, count in _SUB.items():
        names.append(f"mcp_server/{sub}/__init__.py")
        names += [
            f"mcp_server/{sub}/{sub}_{i:02d}.py"
            for i in range(max(1, round(count * min(scale, 1))))
        ]
    extra = round(70 * (scale - 1))  # ~70 server files at scale 1, templates included
    names += [f"mcp_server/extra/module_{i:03d}.py" for i in range(max(0, extra))]
    return names


def script_names(scale: float) -> list[str]:
    py = [
        "install-praxis-os",
        "safe-upgrade",
        "generate-manifest",
        "validate-installation",
        "validate-workflow-metadata",
        "generate-gate-definitions",
        "configure-cursor-mcp",
        "benchmark-search",
        "migrate-agent-os",
        "check-links",
    ]
    sh = [
        "check-yaml",
        "check-json",
        "check-links",
        "check-standards-format",
        "no-debug-prints",
        "validate-gates",
        "check-installation-docs",
        "check-line-endings",
    ]
    names = [f"scripts/{n}.py" for n in py] + [f"scripts/pre-commit/{n}.sh" for n in sh]
    names.append("scripts/pre-commit/README.md")
    names += [f"scripts/tools/helper_{i:03d}.py" for i in range(max(0, round(20 * (scale - 1))))]
    return names


def root_files(rel: Release, seed: int) -> dict[str, str]:
    """Files of the source repo that no installer copies."""
    rng = c.rng_for(seed, "root", rel.tag)
    files = {
        "README.md": c.markdown_doc(rng, "prAxIs OS", 4000) + f"\nCurrent release: {rel.version}\n",
        "pyproject.toml": f'[project]\nname = "praxis-os"\nversion = "{rel.version}"\n'
        'requires-python = ">=3.10"\n',
        ".cursorrules": "# prAxIs OS\n# praxis-os-rules: managed block\n"
        "Always call search_standards before acting.\n",
        "mcp_server/CHANGELOG.md": f"# Changelog\n\n## [{rel.version}] - {rel.date[:10]}\n\n"
        f"- {c.sentence(rng)}\n",
        "universal/templates/workflow-definition-template.yaml": (
            "name: my_workflow_v1\nphases: []\n"
        ),
        "docs/intro.md": c.markdown_doc(c.rng_for(seed, "docs"), "Introduction", 5000),
        "docs/reference/mcp-tools.md": "# MCP tools\n\n" + "".join(f"- `{t}`\n" for t in rel.tools),
        "tests/test_server.py": "def test_placeholder():\n    assert True\n",
        "tests/conftest.py": '"""Upstream test configuration."""\n',
    }
    for i, step in enumerate(
        ("START", "prerequisites", "copy-files", "venv", "gitignore", "configure-ide", "validate")
    ):
        files[f"installation/{i:02d}-{step}.md"] = c.markdown_doc(
            c.rng_for(seed, step), step.title(), 1500
        )
    files[".mcp.json"] = (
        json.dumps(
            {
                "mcpServers": {
                    rel.mcp_server_key: {"type": "http", "url": "http://127.0.0.1:4242/mcp"}
                }
            },
            indent=2,
        )
        + "\n"
    )
    return files


_IGNORED_PARTS = {
    "__pycache__",
    ".cursor",
    ".pytest_cache",
    ".mypy_cache",
    ".praxis-os",
    ".DS_Store",
}


def installed_path(source_path: str) -> str | None:
    """Where upstream's installer puts a source file inside `.praxis-os/` (None: not installed)."""
    prefixes = (
        ("universal/standards/", "standards/universal/"),
        ("universal/workflows/", "workflows/"),
        ("universal/usage/", "usage/"),
        ("mcp_server/", "mcp_server/"),
        ("scripts/", "scripts/"),
    )
    for src, dst in prefixes:
        if source_path.startswith(src):
            rest = source_path[len(src) :]
            if src == "mcp_server/" and (
                _IGNORED_PARTS & set(rest.split("/")) or rest.endswith(".pyc")
            ):
                return None
            return dst + rest
    return None
