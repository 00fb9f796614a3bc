"""IDE MCP configs: only this project's server entry gains --transport; everything else is kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from praxis_upgrade.server import ideconfig

CURSOR = """{
  "mcpServers": {
    "praxis-os-rag": {
      "command": "${workspaceFolder}/.praxis-os/venv/bin/python",
      "args": ["-m", "mcp_server", "--log-level", "INFO"],
      "env": {"PYTHONPATH": "${workspaceFolder}/.praxis-os", "PYTHONUNBUFFERED": "1"},
      "autoApprove": ["search_standards"]
    },
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]},
    "other-project": {
      "command": "/elsewhere/app/.praxis-os/venv/bin/python",
      "args": ["-m", "mcp_server"]
    }
  },
  "zzz": 1,
  "aaa": "ünïcode"
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".praxis-os").mkdir()
    (tmp_path / ".cursor").mkdir()
    return tmp_path


def _fix(project: Path, **kw: bool) -> list[ideconfig.IdeChange]:
    return ideconfig.fix_ide_configs(project, requires_transport=kw.pop("required", True), **kw)


def test_this_projects_entry_gains_transport_after_mcp_server(project: Path) -> None:
    (project / ".cursor" / "mcp.json").write_text(CURSOR)
    changes = _fix(project)
    assert [(c.server, c.changed) for c in changes] == [("praxis-os-rag", True)]
    data = json.loads((project / ".cursor" / "mcp.json").read_text())
    assert data["mcpServers"]["praxis-os-rag"]["args"] == [
        "-m",
        "mcp_server",
        "--transport",
        "dual",
        "--log-level",
        "INFO",
    ]


def test_other_servers_key_order_indent_and_text_are_kept(project: Path) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    _fix(project)
    text = path.read_text()
    data = json.loads(text)
    original = json.loads(CURSOR)
    assert (
        list(data) == ["mcpServers", "zzz", "aaa"]
        and data["aaa"] == "ünïcode"
        and "ünïcode" in text
    )
    assert list(data["mcpServers"]) == ["praxis-os-rag", "github", "other-project"]
    assert data["mcpServers"]["github"] == original["mcpServers"]["github"]
    assert data["mcpServers"]["other-project"] == original["mcpServers"]["other-project"]
    assert text.startswith('{\n  "mcpServers": {\n    "praxis-os-rag"') and text.endswith("}\n")


def test_an_absolute_path_to_this_project_counts_as_ours(project: Path) -> None:
    config = {
        "mcpServers": {
            "mine": {
                "command": str(project / ".praxis-os/venv/bin/python"),
                "args": ["-m", "mcp_server"],
            }
        }
    }
    (project / ".mcp.json").write_text(json.dumps(config, indent="\t"))
    assert [c.changed for c in _fix(project)] == [True]
    text = (project / ".mcp.json").read_text()
    assert '\n\t"mcpServers"' in text and not text.endswith("\n")


def test_an_entry_that_already_has_a_transport_is_unchanged(project: Path) -> None:
    config = {
        "mcpServers": {
            "praxis-os": {
                "command": ".praxis-os/venv/bin/python",
                "args": ["-m", "mcp_server", "--transport", "stdio"],
            }
        }
    }
    path = project / ".cursor" / "mcp.json"
    path.write_text(json.dumps(config))
    before = path.read_bytes()
    assert [c.changed for c in _fix(project)] == [False]
    assert path.read_bytes() == before


def test_http_client_entries_are_not_touched(project: Path) -> None:
    path = project / ".mcp.json"
    path.write_text(
        '{"mcpServers": {"agent-os-rag": {"type": "http", "url": "http://127.0.0.1:4242/mcp"}}}\n'
    )
    before = path.read_bytes()
    assert _fix(project) == []
    assert path.read_bytes() == before


def test_invalid_json_is_left_untouched_with_a_clear_problem(project: Path) -> None:
    path = project / ".cursor" / "mcp.json"
    broken = CURSOR.replace('"aaa": "ünïcode"', '"aaa": "ünïcode",')
    path.write_text(broken)
    (changes,) = _fix(project)
    assert not changes.changed and changes.problem and "not valid JSON" in changes.problem
    assert "--transport" in changes.problem
    assert path.read_text() == broken


def test_nothing_is_done_when_the_new_version_does_not_require_transport(project: Path) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    assert _fix(project, required=False) == []
    assert path.read_text() == CURSOR


def test_report_only_mode_writes_nothing(project: Path) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    changes = _fix(project, write=False)
    assert [c.changed for c in changes] == [True] and path.read_text() == CURSOR
    assert ideconfig.IdeChange.from_json(changes[0].to_json()) == changes[0]


def test_ide_config_paths_lists_the_existing_configs(project: Path) -> None:
    assert ideconfig.ide_config_paths(project) == []
    (project / ".mcp.json").write_text("{}")
    (project / ".cursor" / "mcp.json").write_text("{}")
    assert ideconfig.ide_config_paths(project) == [
        project / ".cursor" / "mcp.json",
        project / ".mcp.json",
    ]


def test_file_mode_is_kept(project: Path) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    path.chmod(0o600)
    _fix(project)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("write", [True, False])
def test_a_symlinked_config_keeps_its_link_and_its_target_and_says_what_to_add(
    project: Path, tmp_path_factory: pytest.TempPathFactory, write: bool
) -> None:
    shared = tmp_path_factory.mktemp("dotfiles") / "mcp.json"
    shared.write_text(CURSOR)
    link = project / ".cursor" / "mcp.json"
    link.symlink_to(shared)
    (change,) = _fix(project, write=write)
    assert not change.changed and change.problem  # the check and the run say the same
    assert "symlink" in change.problem and str(shared) in change.problem
    assert '"--transport", "dual"' in change.problem
    assert link.is_symlink() and link.readlink() == shared
    assert shared.read_text() == CURSOR


def test_a_symlinked_config_that_needs_nothing_is_no_problem(project: Path) -> None:
    shared = project / "mcp.json"
    shared.write_text(
        CURSOR.replace('"mcp_server", "--log', '"mcp_server", "--transport", "dual", "--log')
    )
    (project / ".cursor" / "mcp.json").symlink_to(shared)
    (change,) = _fix(project)
    assert not change.changed and change.problem is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_config_in_a_folder_we_may_not_write_is_reported_not_counted_as_a_change(
    project: Path,
) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    path.parent.chmod(0o555)
    try:
        (change,) = _fix(project, write=False)
    finally:
        path.parent.chmod(0o755)
    assert not change.changed and change.problem and "not writable" in change.problem
    assert path.read_text() == CURSOR


@pytest.mark.parametrize("write", [True, False])
def test_a_read_only_config_is_left_as_it_is_and_reported(project: Path, write: bool) -> None:
    path = project / ".cursor" / "mcp.json"
    path.write_text(CURSOR)
    path.chmod(0o444)  # the user's way of saying "do not touch" (root may write it anyway)
    (change,) = _fix(project, write=write)
    assert not change.changed and change.problem and "read-only" in change.problem
    assert path.read_text() == CURSOR and path.stat().st_mode & 0o777 == 0o444
