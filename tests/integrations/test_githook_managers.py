"""Our hooks beside the real pre-commit, husky and lefthook, installed and removed in any order."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kits import hookkit
from kits.hookkit import MANAGERS, Clone, Tools
from praxis_upgrade import store
from praxis_upgrade.cli.integrations import hook_group
from praxis_upgrade.integrations import githook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    return hookkit.tools(tmp_path_factory.getbasetemp())


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(store.HOME_ENV, str(tmp_path / "praxis-home"))
    monkeypatch.delenv("TERM", raising=False)
    hookkit.manager_env(tmp_path, monkeypatch)
    return tmp_path / "praxis-home"


@pytest.fixture
def repo(tmp_path: Path) -> Clone:
    return hookkit.make_clone(tmp_path)


def assert_nothing_of_ours_left(repo: Clone) -> None:
    git_dir = repo.clone / ".git"
    assert not (git_dir / githook.PRIVATE).exists()
    hooks = [
        p for d in (git_dir / "hooks", repo.clone / ".husky") if d.is_dir() for p in d.iterdir()
    ]
    assert not [p for p in hooks if p.is_file() and "praxis-upgrade" in p.read_text()]


@pytest.mark.parametrize("removed_first", ["ours", "manager"])
@pytest.mark.parametrize("installed_first", ["manager", "ours"])
@pytest.mark.parametrize("name", list(MANAGERS))
def test_the_users_hook_and_ours_each_run_once_per_pull_in_any_order(
    name: str, installed_first: str, removed_first: str, tools: Tools, repo: Clone
) -> None:
    manager = MANAGERS[name](tools, repo)
    manager.set_up()
    files = (*manager.config, ".git/info/exclude")
    original = repo.snapshot(*files)
    # pre-commit moves a hook it finds to post-merge.legacy and runs it from there
    migration = name == "pre-commit" and installed_first == "ours"
    if installed_first == "manager":
        manager.install()
        assert f"installed via {name}" in repo.install_ours()
    else:
        assert "installed as" in repo.install_ours()
        manager.install()
        if migration:
            assert "migration mode" in repo.hook_list()
        else:  # husky and lefthook stop git from running ours: `hook list` says so, and why
            assert f"removed by another tool ({name})" in repo.hook_list()
            assert f"installed via {name}" in repo.install_ours()

    if not migration:  # `pre-commit install -f`, `npm install` (husky), `lefthook install` again
        manager.reinstall()
    assert repo.pull() == (1, 1), repo.output
    assert "failed" not in repo.output and "migration mode" not in repo.output
    assert repo.pull_rebase() == (manager.rewrite_user_runs(), 1), repo.output
    assert not {".husky/post-rewrite", "lefthook-local.yml"} & repo.untracked()  # we excluded them

    if removed_first == "ours":
        repo.uninstall_ours()
        assert repo.snapshot(*files) == original
        assert repo.pull() == (1, 0)
        manager.uninstall()
        assert repo.pull() == (0, 0)
    else:
        manager.uninstall()
        assert repo.pull() == (0, 1 if migration else 0)
        if not migration:
            assert "removed by another tool" in repo.hook_list()
        repo.uninstall_ours()
        assert repo.snapshot(*files) == original
        assert repo.pull() == (0, 0)
    assert_nothing_of_ours_left(repo)


def test_a_second_install_moves_ours_from_pre_commits_legacy_slot_into_its_config(
    tools: Tools, repo: Clone
) -> None:
    manager = hookkit.PreCommit(tools, repo)
    manager.set_up()
    repo.install_ours()
    manager.install()
    out = repo.install_ours()
    assert "installed via pre-commit" in out and "removed an older copy" in out
    assert not list((repo.clone / ".git" / "hooks").glob("*.legacy"))
    manager.reinstall()  # the advice pre-commit prints: `pre-commit install -f` keeps ours now
    assert repo.pull() == (1, 1)
    assert "removed" not in repo.hook_list()


CONFIG_STYLES = {
    "indentless": "repos:\n- repo: local\n  hooks:\n  - id: a\n    name: a\n    entry: 'true'\n"
    "    language: system\n    stages: [manual]\n",
    "four spaces, more keys after, no final newline": "# mine\nrepos:\n    -   repo: local\n"
    "        hooks:\n        -   id: a\n            name: a\n            entry: 'true'\n"
    "            language: system\n            stages: [manual]\n\n# keep me\nci:\n"
    "    skip: [a]",
    "windows newlines": "repos:\r\n  - repo: local\r\n    hooks:\r\n      - id: a\r\n"
    "        name: a\r\n        entry: 'true'\r\n        language: system\r\n"
    "        stages: [manual]\r\n",
}


@pytest.mark.parametrize("style", list(CONFIG_STYLES))
def test_the_pre_commit_config_stays_valid_in_the_users_layout_and_comes_back_byte_for_byte(
    style: str, tools: Tools, repo: Clone
) -> None:
    config = repo.clone / ".pre-commit-config.yaml"
    config.write_bytes(CONFIG_STYLES[style].encode())
    hookkit.PreCommit(tools, repo).install()
    repo.install_ours()
    text = config.read_text()
    assert [text.count(githook.begin(event)) for event in githook.EVENTS] == [1, 1]
    hookkit.ok(hookkit.run(repo.clone, *tools.pre_commit, "validate-config", str(config)))
    hooks = hookkit.ok(
        hookkit.run(
            repo.clone,
            *tools.pre_commit,
            "run",
            "--hook-stage",
            "post-merge",
            "--all-files",
            "--verbose",
        )
    )
    assert "praxis-upgrade" in hooks
    repo.uninstall_ours()
    assert config.read_bytes() == CONFIG_STYLES[style].encode()


def test_a_pre_commit_config_tracked_by_git_is_never_changed(tools: Tools, repo: Clone) -> None:
    config = hookkit.PRE_COMMIT_CONFIG.format(script=repo.user_script)
    hookkit.commit(repo.upstream, {".pre-commit-config.yaml": config}, "pre-commit")
    hookkit.ok(hookkit.git(repo.clone, "pull", "-q"))
    hookkit.PreCommit(tools, repo).install()
    for args in ([], ["--edit-tracked"]):
        result = CliRunner().invoke(
            hook_group,
            ["install", "--source", str(repo.clone), "--project", str(repo.project), *args],
        )
        assert result.exit_code == 1
        assert "pre-commit runs no hook at all" in result.output and "hint:" in result.output
    assert (repo.clone / ".pre-commit-config.yaml").read_text() == config
    assert not (repo.clone / ".git" / githook.PRIVATE).exists()
    assert repo.pull() == (1, 0)
