"""The post-merge hook, driven by real `git pull` / `git merge` with no stdin and no terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from praxis_upgrade import store
from praxis_upgrade.cli.integrations import hook_group
from praxis_upgrade.engine import registry
from praxis_upgrade.integrations import githook

WORKER = """\
import json, os, sys, time
out = os.environ["WORKER_OUT"]
with open(out, "a") as f:
    f.write("start " + sys.argv[sys.argv.index("--target") + 1] + "\\n")
time.sleep(float(os.environ.get("WORKER_SLEEP", "0")))
with open(out, "a") as f:
    git_env = sorted(k for k in os.environ if k.startswith("GIT_"))
    f.write("end " + json.dumps({"argv": sys.argv[1:], "git_env": git_env}) + "\\n")
sys.exit(int(os.environ.get("WORKER_EXIT", "0")))
"""


def git(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git the way a user's non-interactive `git pull` runs: stdin closed, no terminal."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
    )


def commit(repo: Path, files: dict[str, str], message: str = "change") -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", message).returncode == 0


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "praxis-home"
    monkeypatch.setenv(store.HOME_ENV, str(home))
    monkeypatch.delenv("TERM", raising=False)
    return home


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {
            "universal/standards/a.md": "a\n",
            "mcp_server/server.py": "x = 1\n",
            "scripts/s.sh": "echo\n",
            "docs/index.md": "docs\n",
        },
        "v1",
    )
    return repo


@pytest.fixture
def clone(tmp_path: Path, upstream: Path) -> Path:
    assert git(tmp_path, "clone", "-q", str(upstream), "clone").returncode == 0
    return tmp_path / "clone"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project" / ".praxis-os").mkdir(parents=True)
    return tmp_path / "project"


def hook_path(clone: Path) -> Path:
    return clone / ".git" / "hooks" / "post-merge"


def notice(project: Path) -> str:
    return (
        f"prAxIs OS update available for {registry.key(project)}: "
        f"run `praxis-upgrade run --target {registry.key(project)}/.praxis-os`"
    )


def test_shipped_script_is_the_packaged_template_and_valid_sh(repo_root: Path) -> None:
    shipped = (repo_root / "hooks/post-merge").read_bytes()
    assert shipped == (repo_root / "src/praxis_upgrade/resources/post-merge").read_bytes()
    assert githook.ID_LINE in shipped.decode().splitlines()
    assert os.access(repo_root / "hooks/post-merge", os.X_OK)
    assert (
        subprocess.run(["sh", "-n", str(repo_root / "hooks/post-merge")], check=False).returncode
        == 0
    )


def test_install_writes_executable_hooks_and_a_runner_with_the_interpreter(
    clone: Path, project: Path
) -> None:
    change = githook.install(clone, [project])
    assert change.changed and change.hook == hook_path(clone).resolve()
    runner = clone / ".git" / githook.PRIVATE / "post-merge"
    assert f"PRAXIS_UPGRADE_PYTHON={sys.executable}" in runner.read_text()
    for event in githook.EVENTS:
        hook = hook_path(clone).with_name(event)
        assert githook.begin(event) in hook.read_text() and os.access(hook, os.X_OK)
        assert os.access(runner.with_name(event), os.X_OK)
    assert [p.way for p in change.placements] == [githook.HOOK_FILE, githook.HOOK_FILE]
    assert [p.project for p in registry.projects_for_source(clone)] == [registry.key(project)]


def test_notify_prints_one_line_after_a_pull_that_changed_universal(
    upstream: Path, clone: Path, project: Path
) -> None:
    githook.install(clone, [project])
    commit(upstream, {"universal/standards/a.md": "a2\n"})
    result = git(clone, "pull", "-q", "--ff-only")
    assert result.returncode == 0, result.stderr
    assert notice(project) in result.stdout + result.stderr
    assert [n["source_rev"] for n in registry.notices(project)] == [
        git(clone, "rev-parse", "HEAD").stdout.strip()
    ]


def test_nothing_happens_when_only_docs_changed(upstream: Path, clone: Path, project: Path) -> None:
    githook.install(clone, [project])
    commit(upstream, {"docs/index.md": "more docs\n"})
    result = git(clone, "pull", "-q", "--ff-only")
    assert result.returncode == 0
    assert result.stdout + result.stderr == ""
    assert registry.notices(project) == []


def test_a_pull_that_changed_nothing_watched_does_not_even_start_python(
    upstream: Path, clone: Path, project: Path, tmp_path: Path
) -> None:
    githook.install(clone, [project])
    started = tmp_path / "python-started"
    fake = tmp_path / "python"  # stands for the recorded interpreter: says when it is started
    fake.write_text(f"#!/bin/sh\necho started >> {started}\n")
    fake.chmod(0o755)
    runner = clone / ".git" / "praxis-upgrade" / "post-merge"
    text = runner.read_text()
    recorded = next(line for line in text.splitlines() if line.startswith("PRAXIS_UPGRADE_PYTHON="))
    runner.write_text(text.replace(recorded, f"PRAXIS_UPGRADE_PYTHON='{fake}'"))

    commit(upstream, {"docs/index.md": "more docs\n"})
    assert git(clone, "pull", "-q", "--ff-only").returncode == 0
    assert not started.exists()
    commit(upstream, {"universal/standards/a.md": "a3\n"})
    assert git(clone, "pull", "-q", "--ff-only").returncode == 0
    assert started.read_text() == "started\n"


def test_a_real_merge_commit_changing_scripts_notifies(
    upstream: Path, clone: Path, project: Path
) -> None:
    githook.install(clone, [project])
    commit(upstream, {"scripts/s.sh": "echo 2\n"})
    commit(clone, {"local.txt": "mine\n"}, "local work")
    assert git(clone, "fetch", "-q").returncode == 0
    result = git(clone, "merge", "--no-edit", "origin/main")
    assert result.returncode == 0, result.stderr
    assert notice(project) in result.stdout + result.stderr


def test_git_exits_0_when_the_python_side_fails(
    upstream: Path, clone: Path, project: Path, home: Path
) -> None:
    githook.install(clone, [project])
    (home / "projects.json").write_text("{corrupt")
    commit(upstream, {"universal/standards/a.md": "a2\n"})
    result = git(clone, "pull", "-q", "--ff-only")
    assert result.returncode == 0
    assert "projects.json" in result.stderr and "the post-merge check failed" in result.stderr


def test_git_exits_0_and_hints_when_no_interpreter_is_left(
    upstream: Path, clone: Path, project: Path
) -> None:
    githook.install(clone, [project], python=str(clone / "gone" / "python"))
    commit(upstream, {"universal/standards/a.md": "a2\n"})
    env = {
        **os.environ,
        "PATH": os.pathsep.join(str(Path(p).parent) for p in ("/usr/bin/git", "/bin/sh")),
    }
    result = git(clone, "pull", "-q", "--ff-only", env=env)
    assert result.returncode == 0
    assert "praxis-upgrade: not found" in result.stderr and "hook install" in result.stderr


def test_falls_back_to_praxis_upgrade_on_path_when_the_interpreter_is_gone(
    upstream: Path, clone: Path, project: Path
) -> None:
    entry_point = Path(sys.executable).parent / "praxis-upgrade"
    if not entry_point.exists():
        pytest.skip("the praxis-upgrade script is not installed beside this interpreter")
    githook.install(clone, [project], python=str(clone / "gone" / "python"))
    commit(upstream, {"universal/standards/a.md": "a2\n"})
    env = {**os.environ, "PATH": os.pathsep.join([str(entry_point.parent), "/usr/bin", "/bin"])}
    result = git(clone, "pull", "-q", "--ff-only", env=env)
    assert result.returncode == 0
    assert notice(project) in result.stdout + result.stderr


def test_installing_twice_changes_nothing(clone: Path, project: Path, home: Path) -> None:
    githook.install(clone, [project])
    private = clone / ".git" / githook.PRIVATE
    files = [hook_path(clone).with_name(e) for e in githook.EVENTS] + [
        private / "post-merge",
        private / githook.STATE,
        home / "projects.json",
    ]
    before = [f.read_bytes() for f in files]
    again = githook.install(clone, [project])
    assert not again.changed and not again.cleaned
    assert [f.read_bytes() for f in files] == before
    assert not list(hook_path(clone).parent.glob("*.legacy"))


def test_core_hooks_path_is_respected(upstream: Path, clone: Path, project: Path) -> None:
    git(clone, "config", "core.hooksPath", ".githooks")
    change = githook.install(clone, [project])
    assert change.hook == clone / ".githooks" / "post-merge"
    assert not hook_path(clone).exists()
    commit(upstream, {"mcp_server/server.py": "x = 2\n"})
    result = git(clone, "pull", "-q", "--ff-only")
    assert notice(project) in result.stdout + result.stderr


def test_uninstall_of_one_project_keeps_the_hook_for_the_others(
    clone: Path, project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    (other / ".praxis-os").mkdir(parents=True)
    githook.install(clone, [project, other])
    kept = githook.uninstall(clone, [project])
    assert not kept.changed and hook_path(clone).exists()
    gone = githook.uninstall(clone, [other])
    assert gone.changed and not hook_path(clone).exists()


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the background worker"
        time.sleep(0.1)


@pytest.mark.slow
def test_auto_mode_returns_promptly_and_upgrades_in_the_background_one_at_a_time(
    upstream: Path, clone: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    (other / ".praxis-os").mkdir(parents=True)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "worker.out"
    monkeypatch.setenv(githook.COMMAND_ENV, f"{sys.executable} {script}")
    monkeypatch.setenv("WORKER_OUT", str(out))
    monkeypatch.setenv("WORKER_SLEEP", "1.5")
    monkeypatch.setenv("WORKER_EXIT", "4")
    githook.install(clone, [project, other], "auto")
    commit(upstream, {"universal/standards/a.md": "a2\n"})
    env = {**os.environ, "GIT_DIR": str(clone / ".git"), "GIT_WORK_TREE": str(clone)}
    started = time.monotonic()
    result = git(clone, "pull", "-q", "--ff-only", env=env)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 2.5
    assert "started in the background" in result.stdout + result.stderr
    _wait_for(lambda: all(registry.auto_runs(p) for p in (project, other)))
    lines = out.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end", "start", "end"]
    assert [line.split()[1] for line in lines[::2]] == [
        f"{registry.key(p)}/.praxis-os" for p in (other, project)
    ]
    first = json.loads(lines[1].split(" ", 1)[1])
    assert first["argv"][-4:] == [
        "--target",
        f"{registry.key(other)}/.praxis-os",
        "--source",
        registry.key(clone),
    ]
    assert not {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} & set(first["git_env"])
    run = registry.auto_runs(project)[0]
    assert run["exit_code"] == 4 and Path(run["log"]).is_file()
    assert registry.notices(project) == []


def test_auto_command_defaults_to_a_non_interactive_json_run(clone: Path, project: Path) -> None:
    githook.install(clone, [project], "auto")
    cmd = githook.auto_command(registry.key(project), clone)
    assert cmd[1:4] == ["-m", "praxis_upgrade", "run"]
    assert {"--conflicts", "keep-local", "--yes", "--json"} <= set(cmd)


def test_clean_env_drops_repo_variables_but_keeps_config_and_identity() -> None:
    env = githook.clean_env(
        {
            "GIT_DIR": "x",
            "GIT_INDEX_FILE": "i",
            "GIT_WORK_TREE": "w",
            "GIT_PREFIX": "p",
            "GIT_CONFIG_GLOBAL": "g",
            "GIT_AUTHOR_NAME": "a",
            "PATH": "/bin",
        }
    )
    assert env == {"GIT_CONFIG_GLOBAL": "g", "GIT_AUTHOR_NAME": "a", "PATH": "/bin"}


def test_cli_install_reports_and_refuses_bad_paths(
    clone: Path, project: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        hook_group,
        ["install", "--source", str(clone), "--project", str(project)],
        catch_exceptions=False,
    )
    assert ok.exit_code == 0, ok.output
    assert "hooks installed:" in ok.output and "post-merge: installed as" in ok.output
    assert f"registered {registry.key(project)} (notify)" in ok.output
    again = runner.invoke(
        hook_group, ["install", "--source", str(clone), "--project", str(project / ".praxis-os")]
    )
    assert again.exit_code == 0 and "already up to date" in again.output
    (tmp_path / "plain").mkdir()
    bad_project = runner.invoke(
        hook_group, ["install", "--source", str(clone), "--project", str(tmp_path / "plain")]
    )
    assert (
        bad_project.exit_code == 1
        and "no .praxis-os/" in bad_project.output
        and "hint:" in bad_project.output
    )
    bad_source = runner.invoke(
        hook_group, ["install", "--source", str(tmp_path / "plain"), "--project", str(project)]
    )
    assert bad_source.exit_code == 1 and "not a git clone" in bad_source.output


def test_cli_list_shows_notices(clone: Path, project: Path) -> None:
    githook.install(clone, [project])
    registry.record_notice(project, "0123456789abcdef")
    result = CliRunner().invoke(hook_group, ["list"], catch_exceptions=False)
    assert registry.key(project) in result.output and "update available" in result.output
    as_json = json.loads(CliRunner().invoke(hook_group, ["list", "--json"]).output)
    assert as_json[registry.key(project)]["mode"] == "notify"


def test_main_cli_offers_hook_and_vscode_commands() -> None:
    for group in ("hook", "vscode"):
        result = subprocess.run(
            [sys.executable, "-m", "praxis_upgrade", group, "--help"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "install" in result.stdout and "uninstall" in result.stdout


def test_rendered_interpreter_path_survives_spaces_and_quotes() -> None:
    python = "/opt/it's my py/bin/python"
    line = next(
        ln for ln in githook.render(python).splitlines() if ln.startswith("PRAXIS_UPGRADE_PYTHON=")
    )
    shown = subprocess.run(
        ["sh", "-c", f'{line}\nprintf %s "$PRAXIS_UPGRADE_PYTHON"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == python
