"""Requirement files: real lines, project names, and whether an environment satisfies them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import packaging
import pytest

from praxis_upgrade.server import venv
from praxis_upgrade.server.requirements import (
    requirement_lines,
    requirement_names,
    requirements_satisfied,
)

PACKAGING_MINOR = ".".join(packaging.__version__.split(".")[:2])


def test_requirement_lines_drop_comments_blanks_and_options() -> None:
    text = "# deps\n\nmcp>=1.0  # any\n-r other.txt\n--find-links wheels\n-e .\nfoo#bar\n"
    assert requirement_lines(text) == ["mcp>=1.0", "foo#bar"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Foo_Bar.baz>=1\n", ["foo-bar-baz"]),
        ("playwright==1.40 \\\n    --hash=sha256:abc\n", ["playwright"]),
        ("playwright==1.40 --hash=sha256:abc\n", ["playwright"]),
        ("name @ https://example.com/name-1.0-py3-none-any.whl\n", ["name"]),
        ("https://example.com/x.whl\n./local/dir\n-e git+https://example.com/r.git#egg=r\n", []),
    ],
    ids=["normalised", "hash-continued", "hash-inline", "direct-reference", "urls-and-paths"],
)
def test_requirement_names(text: str, names: list[str]) -> None:
    assert requirement_names(text) == names


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("", True),
        (f"pytest>=1\nPackaging~={PACKAGING_MINOR}\n", True),
        ("pytest>=9999\n", False),
        ("no-such-package-praxis\n", False),
        ("no-such-package-praxis ; python_version < '3'\n", True),
        (f"pytest[extra] ; os_name == '{os.name}'\n", True),
        ("https://example.com/x.whl\n", False),
        ("pytest ; no_such_variable == 'x'\n", False),
    ],
    ids=[
        "empty",
        "ranges",
        "too-old",
        "missing",
        "marker-false",
        "marker-true",
        "url",
        "bad-marker",
    ],
)
def test_requirements_satisfied_by_this_interpreter(tmp_path: Path, text: str, ok: bool) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(text)
    assert requirements_satisfied(Path(sys.executable), req) is ok


def test_a_broken_interpreter_is_never_satisfied(tmp_path: Path) -> None:
    assert requirements_satisfied(tmp_path / "no-python", tmp_path / "requirements.txt") is False


@pytest.mark.slow
def test_markers_are_evaluated_by_a_venv_without_packaging(tmp_path: Path) -> None:
    uv = venv.uv_binary()
    assert uv, "the dev environment has uv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(tmp_path / "v")], check=True)
    python = tmp_path / "v" / "bin" / "python"
    req = tmp_path / "requirements.txt"
    req.write_text("pytest ; python_version < '3'\n")
    assert requirements_satisfied(python, req) is True
    req.write_text("pytest ; python_version >= '3'\n")  # not installed in the new venv
    assert requirements_satisfied(python, req) is False
