"""Sessions are saved in proportion to what changed: the plan is written once, each save adds
only what a step added, and a crash between two writes leaves the previous state whole."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from praxis_upgrade.engine import session as session_module
from praxis_upgrade.engine.results import as_json
from praxis_upgrade.engine.session import Session, SessionStore, new_id


def _session(target: Path) -> Session:
    plan = {
        "plan": {
            "entries": [{"path": f"standards/f{i:04}.md", "sha": "x" * 64} for i in range(500)]
        }
    }
    return Session(
        id=new_id(),
        kind="upgrade",
        target=str(target),
        source=None,
        options={},
        results={"plan": plan},
    )


def test_the_plan_is_written_once_and_later_saves_only_write_what_changed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = _session(tmp_path)
    store.save(session)
    (part,) = store.parts_dir(session.id).iterdir()
    first = part.stat()
    head_size = store.path(session.id).stat().st_size
    assert part.stat().st_size > 20 * head_size  # the head is small, the plan is in its own file

    for step in ("backup", "content", "server.stop"):
        session.results[step] = {"id": step}
        session.completed_steps.append(step)
        store.save(session)

    (again,) = store.parts_dir(session.id).iterdir()
    assert again == part and again.stat().st_ino == first.st_ino  # never rewritten
    assert again.stat().st_mtime_ns == first.st_mtime_ns
    loaded = store.load(session.id)
    assert loaded.results == session.results and loaded.completed_steps == session.completed_steps


def test_a_crash_between_a_result_file_and_the_head_leaves_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path)
    session = _session(tmp_path)
    store.save(session)
    before = store.load(session.id)
    entries = [*session.results["plan"]["plan"]["entries"], {"path": "new.md", "sha": "y" * 64}]
    session.results["plan"] = {"plan": {"entries": entries}}  # results are replaced, not edited

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies while it writes the head

    monkeypatch.setattr(session_module.fs, "atomic_write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        store.save(session)
    monkeypatch.undo()

    assert len(list(store.parts_dir(session.id).iterdir())) == 2  # the new result file is there
    assert store.load(session.id).results == before.results  # ... but the previous state is read


def test_a_changed_result_replaces_its_file_and_the_old_one_goes(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = _session(tmp_path)
    store.save(session)
    session.results["plan"] = {"plan": {"entries": session.results["plan"]["plan"]["entries"][1:]}}
    store.save(session)
    names = [p.name for p in store.parts_dir(session.id).iterdir()]
    assert len(names) == 1
    data = json.loads(store.path(session.id).read_text())
    assert data["parts"] == {"plan": names[0]} and "plan" not in data["results"]
    store.remove(session.id)
    assert not store.path(session.id).exists() and not store.parts_dir(session.id).exists()


def test_a_value_replaced_at_a_results_top_level_is_saved_and_an_untouched_one_is_not_serialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path)
    session = _session(tmp_path)
    store.save(session)
    dumped: list[object] = []
    real_dumps = session_module.json.dumps

    def counting(value: object, **kwargs: object) -> str:
        dumped.append(value)
        return real_dumps(value, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(session_module.json, "dumps", counting)
    session.results["backup"] = {"id": "b1"}
    store.save(session)
    assert session.results["plan"] not in dumped  # the plan was not serialised again

    session.results["plan"]["downgrade"] = True  # what the engine does to a recorded plan
    store.save(session)
    monkeypatch.undo()
    assert store.load(session.id).results["plan"]["downgrade"] is True
    assert len(list(store.parts_dir(session.id).iterdir())) == 1  # the old plan file went


def test_session_ids_sort_in_the_order_the_sessions_began_even_within_one_second() -> None:
    made = []
    for _ in range(50):
        made.append(new_id())
        time.sleep(0.002)
    assert sorted(made) == made and len(set(made)) == len(made)


def test_a_result_a_plugin_edits_inside_and_returns_again_is_saved(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = _session(tmp_path)
    session.results["notes"] = {"items": [f"note {i}" for i in range(300)]}
    store.save(session)
    again = session.results["notes"]  # what ctx.result("notes") hands a plugin
    again["items"].append("one more")
    session.results["notes"] = as_json(again)  # what the engine stores from its return value
    store.save(session)
    assert store.load(session.id).results["notes"]["items"][-1] == "one more"
