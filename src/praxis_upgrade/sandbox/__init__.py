"""Sandbox: realistic fake praxis-os sources, installed projects and a stand-in MCP server.

Usage::

    from praxis_upgrade.sandbox import make_source, make_target, start_server

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
"""
from __future__ import annotations

from praxis_upgrade.sandbox.client import StdioClient
from praxis_upgrade.sandbox.demo import Demo, make_demo
from praxis_upgrade.sandbox.environment import create_venv, venv_python
from praxis_upgrade.sandbox.layout import installed_path
from praxis_upgrade.sandbox.process import server_command, start_server
from praxis_upgrade.sandbox.releases import RELEASES, TAGS, Release, release
from praxis_upgrade.sandbox.source import Source, make_source
from praxis_upgrade.sandbox.target import Target, make_target
from praxis_upgrade.sandbox.wheels import build_fakedep_wheels

__all__ = [
    "Demo",
    "RELEASES",
    "TAGS",
    "Release",
    "Source",
    "StdioClient",
    "Target",
    "build_fakedep_wheels",
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
