"""The source -> target layout table."""

from __future__ import annotations

import pytest

from praxis_upgrade.source import layout


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("universal/standards/testing/pyramid.md", "standards/universal/testing/pyramid.md"),
        (
            "universal/workflows/spec_creation_v1/phases/1/gate-definition.yaml",
            "workflows/spec_creation_v1/phases/1/gate-definition.yaml",
        ),
        ("universal/usage/mcp-usage-guide.md", "usage/mcp-usage-guide.md"),
        ("mcp_server/server/tools/rag_tools.py", "mcp_server/server/tools/rag_tools.py"),
        ("scripts/pre-commit/check-yaml.sh", "scripts/pre-commit/check-yaml.sh"),
        ("mcp_server/requirements.txt", "mcp_server/requirements.txt"),
    ],
)
def test_installable_source_paths_map_to_their_install_path_and_back(
    source: str, target: str
) -> None:
    assert layout.to_target(source) == target
    assert layout.to_source(target) == source


@pytest.mark.parametrize(
    "source",
    [
        "universal/templates/workflow-definition-template.yaml",
        "universal/.universal-manifest.json",
        "mcp_server/__pycache__/server.cpython-311.pyc",
        "mcp_server/core/thing.pyc",
        "mcp_server/.cursor/mcp.json",
        "mcp_server/.pytest_cache/v/cache",
        "scripts/.DS_Store",
        "installation/00-START.md",
        "README.md",
        ".praxis-os/standards/x.md",
    ],
)
def test_files_no_installer_copies_have_no_install_path(source: str) -> None:
    assert layout.to_target(source) is None


@pytest.mark.parametrize(
    ("target", "owner"),
    [
        ("standards/universal/testing/pyramid.md", "content"),
        ("workflows/spec_creation_v1/metadata.json", "content"),
        ("usage/operating-model.md", "content"),
        ("mcp_server/server/factory.py", "server"),
        ("scripts/build_rag_index.py", "server"),
        ("standards/development/python-testing.md", "user"),
        ("standards/documentation/mine.md", "user"),
        ("specs/approved/2025-10-01-x/srd.md", "user"),
        ("workspace/scratch/notes.md", "user"),
        ("config.json", "user"),
        ("VERSION.txt", "user"),
        ("venv/bin/python", "runtime"),
        (".cache/state/abc.json", "runtime"),
        (".backups/2025-01-01-000000/MANIFEST.json", "runtime"),
        (".praxis-upgrade/baseline.json", "runtime"),
        (".mcp_server_state.json", "runtime"),
        ("mcp_server/__pycache__/x.pyc", "runtime"),
        ("standards/.rebuild_index", "runtime"),
    ],
)
def test_every_install_path_has_one_owner(target: str, owner: str) -> None:
    assert layout.owner_of(target) == owner


def test_paths_outside_the_table_have_no_source() -> None:
    assert layout.to_source("standards/development/x.md") is None
    assert layout.to_source("venv/bin/python") is None
    assert layout.to_source(".cache/x") is None


def test_side_file_sits_beside_the_file() -> None:
    assert layout.side_file("workflows/a/b.md") == "workflows/a/b.md.praxis-upstream"
