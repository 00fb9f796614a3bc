"""Paths confined to a root: refused exactly when they, or a folder on the way, lead out."""

from __future__ import annotations

from pathlib import Path

import pytest

from praxis_upgrade.errors import PathEscapeError
from praxis_upgrade.util import fs


def _tree_with_links(tmp_path: Path) -> Path:
    root = tmp_path / "install"
    (root / "standards" / "deep").mkdir(parents=True)
    (root / "standards" / "deep" / "a.md").write_text("a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("x")
    (root / "out-folder").symlink_to(outside)  # a folder leading out
    (root / "standards" / "out-file.md").symlink_to(outside / "x.md")  # a file leading out
    (root / "standards" / "in-link.md").symlink_to(root / "standards" / "deep" / "a.md")
    return root


@pytest.mark.parametrize(
    ("rel", "follow_last", "allowed"),
    [
        ("standards/deep/a.md", True, True),
        ("standards/deep/new/b.md", True, True),  # not there yet
        ("out-folder/x.md", False, False),  # through a link leading out
        ("out-folder/x.md", True, False),
        ("standards/out-file.md", False, True),  # the link itself is the object
        ("standards/out-file.md", True, False),  # followed, it leads out
        ("standards/in-link.md", True, True),
        ("../install/standards/deep/a.md", True, False),
        ("/etc/passwd", True, False),
        ("", True, True),  # the root itself
    ],
)
def test_a_path_is_refused_exactly_when_it_or_a_folder_on_the_way_leads_out(
    tmp_path: Path, rel: str, follow_last: bool, allowed: bool
) -> None:
    root = _tree_with_links(tmp_path)
    confined = fs.Confined(root)
    for check in (
        lambda: fs.inside(root, rel, follow_last=follow_last),
        lambda: confined(rel, follow_last=follow_last),
    ):
        if allowed:
            assert check() == root / rel
        else:
            with pytest.raises(PathEscapeError):
                check()
    if allowed:  # asked again, from what it resolved before
        assert confined(rel, follow_last=follow_last) == root / rel


def test_a_confined_root_that_is_itself_a_link_holds_its_paths(tmp_path: Path) -> None:
    real = _tree_with_links(tmp_path)
    linked = tmp_path / "linked-install"
    linked.symlink_to(real)
    confined = fs.Confined(linked)
    assert confined("") == linked
    assert confined("standards/deep/a.md") == linked / "standards/deep/a.md"
    with pytest.raises(PathEscapeError):
        confined("out-folder/x.md")
