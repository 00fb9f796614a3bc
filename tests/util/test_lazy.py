"""Heavy modules named at module top run only when first used."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from praxis_upgrade.util.lazy import lazy_module

RUNS = "import builtins\nbuiltins.lazy_runs.append(__name__)\nVALUE = 42\n"


@pytest.fixture()
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A package `lazypkg` with a submodule `heavy`, each recording when it runs."""
    (tmp_path / "lazypkg").mkdir()
    (tmp_path / "lazypkg" / "__init__.py").write_text(RUNS)
    (tmp_path / "lazypkg" / "heavy.py").write_text(RUNS)
    (tmp_path / "lazyflat.py").write_text(RUNS)
    runs: list[str] = []
    monkeypatch.setattr("builtins.lazy_runs", runs, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield runs
    for name in ("lazypkg", "lazypkg.heavy", "lazyflat"):
        sys.modules.pop(name, None)


def test_a_lazy_module_runs_at_its_first_attribute_and_only_once(package: list[str]) -> None:
    flat = lazy_module("lazyflat")
    assert package == [] and sys.modules["lazyflat"] is flat
    assert flat.VALUE == 42 and flat.VALUE == 42
    assert package == ["lazyflat"]
    assert lazy_module("lazyflat") is flat


def test_a_lazy_submodule_is_named_by_its_package_and_runs_when_used(package: list[str]) -> None:
    heavy = lazy_module("lazypkg.heavy")
    assert package == ["lazypkg"]  # the package itself is imported to find the submodule
    assert sys.modules["lazypkg"].heavy is heavy
    assert heavy.VALUE == 42
    assert package == ["lazypkg", "lazypkg.heavy"]


def test_a_module_that_is_not_installed_fails_at_once() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_heavy_library"):
        lazy_module("no_such_heavy_library")
