"""A file-based test plugin that overrides every default step, plus an installable copy of it."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

PLUGIN_SOURCE = textwrap.dedent('''
    """Test plugin: records calls, writes one file per step, can fail or die at a chosen step."""
    import json, os, time
    from pathlib import Path
    from praxis_upgrade import hookimpl

    def _log(ctx, step):
        saved = None
        path = ctx.store.path(ctx.session.id) if ctx.store else None
        if path is not None and path.exists():
            saved = json.loads(path.read_text())["completed_steps"]
        with open(ctx.target / "calls.log", "a") as f:
            f.write(json.dumps({"step": step, "pid": os.getpid(), "saved": saved}) + "\\n")
        if os.environ.get("FAKEPLUGIN_SLOW_AT") == step:
            time.sleep(2)
        fail_file = ctx.target / "fail-at"
        if fail_file.exists() and fail_file.read_text().strip() == step:
            raise RuntimeError("injected failure at " + step)
        if os.environ.get("FAKEPLUGIN_FAIL_AT") == step:
            raise RuntimeError("injected failure at " + step)
        if os.environ.get("FAKEPLUGIN_EXIT_AT") == step:
            os._exit(9)

    def _write(ctx, name, text):
        (ctx.target / "standards" / name).write_text(text)

    @hookimpl
    def praxis_plan(ctx):
        _log(ctx, "plan")
        return {"summary": {"update": 1}, "touched": ["standards/a.md", "standards/b.md"],
                "from_version": "v1", "to_version": "v2"}

    @hookimpl
    def praxis_backup(ctx):
        _log(ctx, "backup")
        bdir = ctx.target / ".backups" / ctx.session.id
        bdir.mkdir(parents=True, exist_ok=True)
        (bdir / "a.md").write_bytes((ctx.target / "standards" / "a.md").read_bytes())
        return {"id": ctx.session.id, "path": str(bdir)}

    @hookimpl
    def praxis_migrate(ctx):
        _log(ctx, "migrate")
        return {"moved": False}

    @hookimpl
    def praxis_content(ctx):
        _log(ctx, "content")
        _write(ctx, "a.md", "upgraded a\\n")
        return {"decisions": [], "written": {"standards/a.md": "x"}}

    @hookimpl
    def praxis_stop_server(ctx):
        _log(ctx, "server.stop")
        return {"state": "not-running"}

    @hookimpl
    def praxis_server_code(ctx):
        _log(ctx, "server.code")
        _write(ctx, "b.md", "upgraded b\\n")
        return {"decisions": []}

    @hookimpl
    def praxis_environment(ctx):
        _log(ctx, "server.environment")
        return {"changed": False}

    @hookimpl
    def praxis_restart_server(ctx):
        _log(ctx, "server.restart")
        if os.environ.get("FAKEPLUGIN_NO_RESTART"):
            return None
        return {"restarted": False, "message": "nothing to restart"}

    @hookimpl
    def praxis_validate(ctx):
        _log(ctx, "validation")
        return [{"name": "fake", "required": True, "ok": True, "detail": ""}]

    @hookimpl
    def praxis_cleanup(ctx):
        _log(ctx, "cleanup")
        return {}

    @hookimpl
    def praxis_rollback(ctx, error):
        _log(ctx, "rollback")
        bdir = ctx.target / ".backups" / ctx.session.id
        if (bdir / "a.md").exists():
            (ctx.target / "standards" / "a.md").write_bytes((bdir / "a.md").read_bytes())
        b = ctx.target / "standards" / "b.md"
        if b.read_text() != "original b\\n":
            b.write_text("original b\\n")
        return {"complete": True, "restored": ["standards/a.md"]}
''')

# built-ins that need a real praxis-os source; the fake plugin stands in for the rest
DISABLED = {"builtin-preflight", "builtin-validation", "builtin-cleanup"}


def make_fake_install(root: Path) -> tuple[Path, Path]:
    """A minimal install and a minimal source: enough for engine-level tests."""
    project = root / "project"
    std = project / ".praxis-os" / "standards"
    std.mkdir(parents=True)
    (std / "a.md").write_text("original a\n")
    (std / "b.md").write_text("original b\n")
    source = root / "source"
    (source / "universal").mkdir(parents=True)
    (source / "mcp_server").mkdir()
    return project, source


def install_plugin_dist(site: Path, name: str = "fakeplugin", source: str = PLUGIN_SOURCE) -> Path:
    """Install a plugin distribution into ``site`` the way a wheel does: module + dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{name}.py").write_text(source)
    info = site / f"praxis_upgrade_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: praxis-upgrade-{name}\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(f"[praxis_upgrade]\n{name} = {name}\n")
    (info / "RECORD").write_text("")
    return site


def calls(project: Path) -> list[dict]:
    log = project / ".praxis-os" / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def subprocess_env(site: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PRAXIS_UPGRADE_DISABLE_PLUGINS"] = ",".join(sorted(DISABLED))
    env.update(extra)
    return env
