"""The default planner's own figures: the disk a session will take."""

from __future__ import annotations

import json

import pytest

from praxis_upgrade.phases.plan import _json_bytes


@pytest.mark.parametrize("period", [1, 2, 7, 64, 100])
def test_the_session_estimate_holds_whatever_pattern_the_entries_sizes_follow(period: int) -> None:
    # a long path every `period` entries: an evenly spaced sample would see only one kind
    entries = [
        {"path": ("deep/" * 40 if i % period == 0 else "") + f"f{i}.md", "size": i}
        for i in range(6400)
    ]
    plan = {"entries": entries, "upstream_commit": "a" * 40}
    exact = len(json.dumps(plan))
    assert 0.7 * exact < _json_bytes(plan) < 1.3 * exact
