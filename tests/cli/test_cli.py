"""The command line: exit codes, one-screen errors with hints, JSON output, plugins listing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kits.fakeplugin import install_plugin_dist, make_fake_install, subprocess_env
from praxis_upgrade.cli import main_group


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "praxis_upgrade", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_console_script_is_installed_and_answers_help():
    exe = shutil.which("praxis-upgrade", path=str(Path(sys.executable).parent))
    assert exe, "the console script is not installed next to the interpreter"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("run", "resume", "status", "rollback", "plugins", "demo"):
        assert command in out.stdout


def test_not_an_install_gives_a_hint_and_exit_1(tmp_path):
    out = cli("status", "--target", str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.startswith("error: no .praxis-os install found")
    assert "hint:" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) < 10


def test_json_error_goes_to_stdout_as_one_object(tmp_path):
    out = cli("run", "--json", "--target", str(tmp_path), "--source", str(tmp_path))
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["ok"] is False and data["exit_code"] == 1 and data["hint"]


def test_missing_source_is_exit_1_with_hint(tmp_path):
    project, _ = make_fake_install(tmp_path)
    out = cli("run", "--target", str(project))
    assert out.returncode == 1
    assert "no source given" in out.stderr and "--source" in out.stderr


def test_held_lock_is_exit_5(tmp_path):
    project, source = make_fake_install(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from praxis_upgrade.engine.lock import UpgradeLock;"
            "l = UpgradeLock(Path(sys.argv[1])); l.acquire('20260101-000000-abcdef'); "
            "print('held', flush=True);"
            "sys.stdin.read()",
            str(project / ".praxis-os"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        out = cli("run", "--target", str(project), "--source", str(source))
        assert out.returncode == 5
        assert f"pid {holder.pid}" in out.stderr
    finally:
        holder.kill()
        holder.wait()


def test_click_runner_shows_status_of_a_fresh_install(tmp_path):
    project, _ = make_fake_install(tmp_path)
    result = CliRunner().invoke(main_group, ["status", "--json", "--target", str(project)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sessions"] == [] and data["lock"] is None


def test_plugins_lists_builtins_and_installed_plugins_with_their_hooks(tmp_path):
    site = install_plugin_dist(tmp_path / "site")
    env = subprocess_env(site)
    env.pop("PRAXIS_UPGRADE_DISABLE_PLUGINS")
    out = cli("plugins", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    names = [r["name"] for r in rows]
    assert names[0] == "builtin-preflight"
    assert names[-1] == "fakeplugin"  # registered after the built-ins, so it is called first
    fake = rows[-1]
    assert fake["distribution"] == "praxis-upgrade-fakeplugin"
    assert "praxis_content" in fake["hooks"]


def test_broken_plugin_is_named_and_can_be_disabled(tmp_path):
    site = install_plugin_dist(
        tmp_path / "site", "brokenplugin", "raise ImportError('no such thing')\n"
    )
    env = subprocess_env(site)
    env.pop("PRAXIS_UPGRADE_DISABLE_PLUGINS")
    out = cli("plugins", env=env)
    assert out.returncode == 6
    assert "'brokenplugin'" in out.stderr and "no such thing" in out.stderr
    assert "PRAXIS_UPGRADE_DISABLE_PLUGINS=brokenplugin" in out.stderr
    env["PRAXIS_UPGRADE_DISABLE_PLUGINS"] = "brokenplugin"
    assert cli("plugins", env=env).returncode == 0


def test_misspelled_hook_is_named(tmp_path):
    src = (
        "from praxis_upgrade import hookimpl\n\n"
        "@hookimpl\ndef praxis_contnet(ctx):\n    return {}\n"
    )
    site = install_plugin_dist(tmp_path / "site", "typoplugin", src)
    env = subprocess_env(site)
    env.pop("PRAXIS_UPGRADE_DISABLE_PLUGINS")
    out = cli("plugins", env=env)
    assert out.returncode == 6
    assert "'typoplugin'" in out.stderr and "praxis_contnet" in out.stderr


@pytest.mark.parametrize("policy", ["bogus"])
def test_unknown_conflict_policy_is_a_usage_error(policy):
    out = cli("run", "--conflicts", policy)
    assert out.returncode == 2
    assert "--conflicts" in out.stderr


def test_a_file_given_as_target_is_refused_not_walked_up_from(tmp_path):
    project, source = make_fake_install(tmp_path)
    readme = project / "README.md"
    readme.write_text("the project's readme\n")
    out = cli("run", "--dry-run", "--target", str(readme), "--source", str(source))
    assert out.returncode == 1
    assert f"error: {readme} is a file, not a folder" in out.stderr
    assert "hint:" in out.stderr and "Traceback" not in out.stderr
    install = cli("install", "--target", str(readme), "--source", str(source))
    assert install.returncode == 1
    assert f"error: {readme} is a file, not a folder" in install.stderr


def test_a_file_given_as_source_is_called_a_file_not_missing(tmp_path):
    project, _ = make_fake_install(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text("not a clone\n")
    out = cli("run", "--dry-run", "--target", str(project), "--source", str(readme))
    assert out.returncode == 1
    assert "is a file, not a folder" in out.stderr
    assert "does not exist" not in out.stderr
    assert "hint:" in out.stderr
