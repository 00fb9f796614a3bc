"""Which way a revision goes: by version where both versions parse, else by the git history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from praxis_upgrade.engine.downgrade import is_downgrade


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """A clone with three commits in a row and one on a side branch: old, mid, new, side."""
    repo = tmp_path / "clone"
    repo.mkdir()
    git(repo, "init", "-q")
    commits = []
    for name in ("old", "mid", "new"):
        (repo / "f.txt").write_text(f"{name}\n")
        git(repo, "add", "f.txt")
        git(repo, "commit", "-q", "-m", name)
        commits.append(git(repo, "rev-parse", "HEAD"))
    git(repo, "checkout", "-q", "-b", "side", commits[0])
    (repo / "g.txt").write_text("side\n")
    git(repo, "add", "g.txt")
    git(repo, "commit", "-q", "-m", "side")
    commits.append(git(repo, "rev-parse", "HEAD"))
    return repo, commits


@pytest.mark.parametrize(
    ("installed", "target", "down"),
    [
        ("v1.6.0", "v1.5.0", True),
        ("1.6.0", "v1.10.0", False),  # versions, not text: 1.10 is newer than 1.6
        ("v2.0.0rc1", "v2.0.0", False),
    ],
)
def test_versions_that_parse_are_compared_as_versions(history, installed, target, down):
    repo, (old, mid, new, _) = history
    # the commits would say the opposite: the versions decide
    assert is_downgrade(repo, installed, target, old if down else new, new if down else old) is down


@pytest.mark.parametrize(
    ("installed", "target", "down"),
    [
        (2, 0, True),  # back to an ancestor of the installed commit
        (0, 2, False),  # the installed commit is an ancestor of the target: an upgrade
        (1, 1, False),
        (1, 3, False),  # another branch: neither ahead nor behind, not called a downgrade
    ],
)
def test_otherwise_the_git_history_decides(history, installed, target, down):
    repo, commits = history
    versions = ("1.6.0-3-gabcdef", "main")  # do not parse as versions
    assert is_downgrade(repo, *versions, commits[installed], commits[target]) is down


def test_the_same_version_at_an_older_commit_is_a_downgrade(history):
    repo, (old, _, new, _) = history
    assert is_downgrade(repo, "v1.5.0", "v1.5.0", new, old) is True
    assert is_downgrade(repo, "v1.5.0", "v1.5.0", old, new) is False


def test_an_unknown_installed_commit_is_no_downgrade(history):
    repo, commits = history
    assert is_downgrade(repo, None, "v1.0.0", None, commits[0]) is False
    assert is_downgrade(repo, "x", "y", "0" * 40, commits[0]) is False  # not in this clone
