"""Hook specs are documented: in their docstrings, in docs/hooks.md, reachable from the engine."""

from __future__ import annotations

import pytest

from praxis_upgrade.engine import hookdocs
from praxis_upgrade.engine.steps import STEPS

SPECS = hookdocs.spec_functions()


def test_docs_hooks_md_is_current(repo_root):
    current = (repo_root / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert current == hookdocs.render(), (
        "run: python -m praxis_upgrade.engine.hookdocs > docs/hooks.md"
    )


@pytest.mark.parametrize("name,fn", SPECS, ids=[n for n, _ in SPECS])
def test_every_spec_says_when_it_is_called_and_what_none_means(name, fn):
    doc = fn.__doc__ or ""
    assert "Called:" in doc, name
    assert "Kind:" in doc, name
    assert "None" in doc, name


def test_every_phase_step_has_a_spec():
    names = {n for n, _ in SPECS}
    assert {s.hook for s in STEPS} <= names
    assert {"praxis_rollback", "praxis_report"} <= names
