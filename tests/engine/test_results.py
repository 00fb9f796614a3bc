"""Typed step results: saved as JSON, read back typed, extra keys kept, collect shapes kept."""

from __future__ import annotations

import dataclasses
import json

from praxis_upgrade.content.apply import ApplyResult, Decision
from praxis_upgrade.content.plan import Plan, PlanEntry
from praxis_upgrade.content.vocab import Action, Klass, Policy
from praxis_upgrade.engine.results import BackupResult, CleanupResult, PlanResult, as_json
from praxis_upgrade.engine.run import _collected


def test_a_typed_result_round_trips_through_the_session_json() -> None:
    saved = json.loads(
        json.dumps(as_json(BackupResult(id="2026-01-01-000000", path="/b", paths=3)))
    )
    assert saved == {"id": "2026-01-01-000000", "path": "/b", "paths": 3}
    assert BackupResult.from_json(saved) == BackupResult(id="2026-01-01-000000", path="/b", paths=3)


def test_keys_a_plugin_adds_are_kept_and_written_back() -> None:
    raw = {"summary": {"added": 1}, "touched": ["a"], "plan": {}, "made_by": "my-plugin"}
    typed = PlanResult.from_json(raw)
    assert typed.touched == ["a"] and typed.extra == {"made_by": "my-plugin"}
    assert typed.to_json()["made_by"] == "my-plugin"


def test_collect_steps_keep_each_hooks_shape() -> None:
    # cleanup hooks return one dict each (it used to be saved as the list of its keys);
    # validation and pre-flight hooks return lists, whose items are gathered
    cleanup = _collected(
        [CleanupResult(baseline="v1.6.0", pruned_backups=["x"]), None, {"mine": True}]
    )
    assert cleanup == [
        {"baseline": "v1.6.0", "pruned_backups": ["x"], "kept_venv": False, "pruned_venvs": []},
        {"mine": True},
    ]
    assert _collected([["a problem"], [], None, ["another"]]) == ["a problem", "another"]


def test_vocabulary_words_are_their_own_text_in_json_and_messages() -> None:
    decision = Decision("p.md", Klass.ADD_ADD, Action.MERGE, "keep-local", "kept-local")
    data = json.loads(json.dumps(ApplyResult(decisions=[decision]).to_json()))
    assert data["decisions"][0]["klass"] == "conflict-add-add"
    back = ApplyResult.from_json(data).decisions[0]
    assert back.klass is Klass.ADD_ADD and back.klass.is_conflict and back.action.writes
    assert f"{Policy.KEEP_LOCAL}" == "keep-local" and Policy("merge") is Policy.MERGE
    assert not Klass.conflicting("both-changed") and not Klass.conflicting("no-such-class")


def test_a_plan_walked_an_entry_at_a_time_is_the_whole_plan() -> None:
    entries = [
        PlanEntry("a.md", "content", Klass.ADDED, Action.ADD, upstream_sha="1" * 64),
        PlanEntry("b.md", "server", Klass.UNCHANGED, Action.NONE, base_sha="2" * 64, mode=0o644),
    ]
    plan = Plan("v1", "v2", "b" * 40, "c" * 40, entries=entries, owners=["content", "server"])
    typed = PlanResult.from_json(json.loads(json.dumps(as_json(PlanResult(plan=plan.to_json())))))
    assert list(typed.walk()) == typed.entries().entries == entries
    head = typed.head()
    assert head.entries == [] and dataclasses.replace(head, entries=entries) == plan
