"""The managed `.gitignore` block: entries from the installed standard, idempotent, user lines
kept."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kits.contentkit import install, make_source
from praxis_upgrade.content import gitignore
from praxis_upgrade.demo.source_shape import GITIGNORE_STANDARD


def _target(tmp_path: Path, standard: str = GITIGNORE_STANDARD) -> Path:
    target = tmp_path / "project" / ".praxis-os"
    path = target / gitignore.STANDARD
    path.parent.mkdir(parents=True)
    path.write_text(standard)
    return target


def test_required_entries_come_from_the_required_block_without_trailing_comments(
    tmp_path: Path,
) -> None:
    entries = gitignore.required_entries(_target(tmp_path))
    assert entries[:6] == [
        ".praxis-os/.cache/",
        ".praxis-os/venv/",
        ".praxis-os/mcp_server/__pycache__/",
        ".praxis-os/scripts/__pycache__/",
        ".praxis-os.backup.*",
        ".praxis-os/.upgrade_lock",
    ]
    assert ".praxis-os/.backups/" in entries and ".praxis-os/.mcp_server_state.json" in entries
    assert not any("#" in e for e in entries) and len(entries) == len(set(entries))
    assert ".praxis-os/.praxis-upgrade/" not in entries  # the baseline is meant to be committed


def test_trailing_comments_are_cut_so_patterns_match() -> None:
    standard = "## Required Entries\n\n```\n.praxis-os/.cache/   # ~1.3GB index\n```\n"
    assert gitignore.parse_required(standard) == [".praxis-os/.cache/"]


def test_no_standard_still_ignores_the_tools_runtime_paths(tmp_path: Path) -> None:
    assert gitignore.required_entries(tmp_path / "nothing") == list(gitignore.TOOL_ENTRIES)


def test_the_block_is_written_once_and_the_second_run_writes_nothing(tmp_path: Path) -> None:
    target = _target(tmp_path)
    project = target.parent
    (project / ".gitignore").write_text("__pycache__/\n.praxis-os/venv/\n")
    entries = gitignore.required_entries(target)
    assert gitignore.update_gitignore(project, entries) is True
    text = (project / ".gitignore").read_text()
    assert text.startswith("__pycache__/\n.praxis-os/venv/\n\n# >>> praxis-upgrade (managed) >>>\n")
    assert text.count(".praxis-os/venv/") == 1  # the user's line already covers it
    mtime = (project / ".gitignore").stat().st_mtime_ns
    assert gitignore.update_gitignore(project, entries) is False
    assert (project / ".gitignore").stat().st_mtime_ns == mtime


def test_user_lines_around_the_block_are_never_moved_or_removed(tmp_path: Path) -> None:
    project = tmp_path
    gitignore.update_gitignore(project, ["a/", "b/"])
    with open(project / ".gitignore", "a") as f:
        f.write("# mine\nb/\n")
    (project / ".gitignore").write_text("top\n" + (project / ".gitignore").read_text())
    assert gitignore.update_gitignore(project, ["a/", "b/", "c/"]) is True
    lines = (project / ".gitignore").read_text().splitlines()
    assert lines[0] == "top" and lines[-2:] == ["# mine", "b/"]
    block = lines[lines.index(gitignore.BEGIN) : lines.index(gitignore.END) + 1]
    assert block[2:-1] == ["a/", "c/"]


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"node_modules/\r\n")
    gitignore.update_gitignore(tmp_path, ["x/"])
    data = (tmp_path / ".gitignore").read_bytes()
    assert (
        data.startswith(b"node_modules/\r\n")
        and b"\nx/\r\n" in data
        and b"x/\n" not in data.replace(b"\r\n", b"")
    )


def test_the_written_entries_really_ignore_the_runtime_paths(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    target = install(tmp_path / "project", src.path)
    project = target.parent
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    gitignore.update_gitignore(project, gitignore.required_entries(target))
    for path in (
        ".praxis-os/.cache/state/x.json",
        ".praxis-os/venv/bin/python",
        ".praxis-os/.backups/b/f",
        ".praxis-os/.mcp_server_state.json",
        ".praxis-os/.upgrade_lock",
    ):
        check = subprocess.run(["git", "-C", str(project), "check-ignore", "-q", path], check=False)
        assert check.returncode == 0, path
    check = subprocess.run(
        [
            "git",
            "-C",
            str(project),
            "check-ignore",
            "-q",
            ".praxis-os/.praxis-upgrade/baseline.json",
        ]
    )
    assert check.returncode == 1


def test_a_symlinked_gitignore_keeps_its_link_and_says_which_lines_to_add(tmp_path: Path) -> None:
    target = _target(tmp_path)
    project = target.parent
    shared = tmp_path / "dotfiles" / "gitignore"
    shared.parent.mkdir()
    shared.write_text("__pycache__/\n.praxis-os/venv/\n")
    (project / ".gitignore").symlink_to(shared)
    entries = gitignore.required_entries(target)
    assert gitignore.update_gitignore(project, entries) is False
    assert not gitignore.needs_update(project, entries)  # a no-op run stays one
    assert (project / ".gitignore").is_symlink()
    assert shared.read_text() == "__pycache__/\n.praxis-os/venv/\n"
    said = gitignore.left_alone(project, entries)
    assert said and "is a symlink" in said and ".praxis-os/.backups/" in said
    assert ".praxis-os/venv/" not in said.split("by hand:")[1]  # already there: not asked for
    shared.write_text("\n".join(entries) + "\n")  # the user added them: nothing more to say
    assert gitignore.left_alone(project, entries) is None


def test_a_gitignore_that_needs_nothing_or_can_be_written_is_not_left_alone(
    tmp_path: Path,
) -> None:
    target = _target(tmp_path)
    entries = gitignore.required_entries(target)
    assert gitignore.left_alone(target.parent, entries) is None  # absent: it is written
    gitignore.update_gitignore(target.parent, entries)
    assert gitignore.left_alone(target.parent, entries) is None


def test_a_read_only_gitignore_is_left_as_it_is_with_the_lines_to_add(tmp_path: Path) -> None:
    target = _target(tmp_path)
    path = target.parent / ".gitignore"
    path.write_text("node_modules/\n")
    path.chmod(0o444)
    entries = gitignore.required_entries(target)
    assert gitignore.update_gitignore(target.parent, entries) is False
    assert path.read_text() == "node_modules/\n"
    said = gitignore.left_alone(target.parent, entries)
    assert said and "read-only" in said and ".praxis-os/.cache/" in said
