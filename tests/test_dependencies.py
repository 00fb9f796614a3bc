"""The floors in pyproject.toml are exactly what the `lowest` tox env tests."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_every_dependency_floor_is_pinned_in_the_lowest_env() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        (spec,) = [s for s in req.specifier if s.operator == ">="]
        floors[canonicalize_name(req.name)] = Version(spec.version)
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    pins = {}
    for line in tox["testenv:lowest"]["deps"].split():
        req = Requirement(line)
        (spec,) = list(req.specifier) or [None]
        if spec is not None and spec.operator == "==":
            pins[canonicalize_name(req.name)] = Version(spec.version)
    assert {name: pins.get(name) for name in floors} == floors
