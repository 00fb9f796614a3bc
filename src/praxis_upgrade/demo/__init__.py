"""Sandbox: realistic fake praxis-os sources, installed projects and a stand-in MCP server.

Usage::

    from praxis_upgrade.demo import make_source, make_target, start_server

    source = make_source(tmp / "praxis-os")               # git repo, tags v1.3.0 .. v1.6.0
    target = make_target(tmp / "project", source, version="v1.5.0")   # installed + user edits
    target.praxis                                          # <project>/.praxis-os
    target.user_edits   # {"standards/universal/...md": "edit-conflict", ...}
    target.user_files   # user-owned files that must stay byte-identical
    release("v1.6.0").tools                                # tool names that version defines

    target = make_target(..., venv=True)   # real .praxis-os/venv with the pinned fakedep wheel
    proc = start_server(target)            # stand-in server over stdio, like an IDE launches it

Offline dependencies: every tag carries ``wheels/fakedep-{1.0,2.0}-py3-none-any.whl`` (also
written by `build_fakedep_wheels(dest)`); install with
``<venv>/bin/python -m pip install --no-index --find-links <source>/wheels -r requirements.txt``.
v1.3.0-v1.5.0 pin ``fakedep==1.0``, v1.6.0 pins ``fakedep==2.0``; the stand-in server exits 1
when the installed fakedep does not match its version.

Releases (see `RELEASES`): v1.3.0 legacy tools (start_workflow, ...), `usage/`, 3 workflows;
v1.4.0 + agent_os_upgrade_v1, aos_browser, validate_workflow, get_server_info; v1.5.0 `usage/`
merged into standards, `workflow_tools.py` split into a package with one `aos_workflow` tool,
+ standards_creation_v1; v1.6.0 `aos_*` -> `pos_*`, agent_os_upgrade_v1 -> praxis_os_upgrade_v1,
meta-framework/ -> meta-workflow/, agent-os-development-process.md ->
praxis-os-development-process.md, `--transport` required, fakedep 2.0. Each release also edits
~15% of standards and ~30% of workflow files, adds and deletes some.

`start_server(target)` runs ``<praxis>/venv/bin/python -m mcp_server --transport stdio`` (cwd =
project, ``PYTHONPATH=<praxis>``); without a venv it uses `sys.executable` and puts the wheel of
the pinned fakedep on PYTHONPATH. Fault switches (env): FAKE_MCP_FAIL_START=1,
FAKE_MCP_START_DELAY=<s>, FAKE_MCP_CRASH_AFTER=<n> (answers n requests, then exits 3),
FAKE_MCP_DROP_TOOL=<name>, FAKE_MCP_HANG=1, FAKE_MCP_IGNORE_SIGTERM=1.
"""

from __future__ import annotations

from praxis_upgrade.demo.fake_source import Source, clone_source, make_source
from praxis_upgrade.demo.fake_target import Target, make_target
from praxis_upgrade.demo.fake_venv import create_venv, venv_python
from praxis_upgrade.demo.launch import server_command, start_server
from praxis_upgrade.demo.mcp_client import StdioClient
from praxis_upgrade.demo.releases import RELEASES, TAGS, Release, release
from praxis_upgrade.demo.scenario import Demo, make_demo
from praxis_upgrade.demo.source_shape import installed_path
from praxis_upgrade.demo.wheels import build_fakedep_wheels

__all__ = [
    "Demo",
    "RELEASES",
    "TAGS",
    "Release",
    "Source",
    "StdioClient",
    "Target",
    "build_fakedep_wheels",
    "clone_source",
    "create_venv",
    "installed_path",
    "make_demo",
    "make_source",
    "make_target",
    "release",
    "server_command",
    "start_server",
    "venv_python",
]
