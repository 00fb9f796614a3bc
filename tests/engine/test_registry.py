"""The project registry: where it lives, what it remembers, and how it fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from praxis_upgrade import store
from praxis_upgrade.engine import registry
from praxis_upgrade.errors import StateError, UserError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "praxis-home"
    monkeypatch.setenv(store.HOME_ENV, str(home))
    return home


def test_registry_lives_under_the_override_dir(home: Path) -> None:
    registry.register(home.parent / "proj", home.parent / "src", "notify")
    assert (home / "projects.json").is_file()
    assert store.registry_file() == home / "projects.json"


def test_without_override_the_registry_is_in_the_user_config_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(store.HOME_ENV)
    config = Path(os.environ["XDG_CONFIG_HOME"])
    assert store.registry_file() == config / "praxis-upgrade" / "projects.json"


def test_missing_file_is_an_empty_registry() -> None:
    assert registry.load().projects == {}
    assert registry.notices("/nowhere") == []


def test_register_records_source_mode_and_interpreter(tmp_path: Path) -> None:
    entry = registry.register(
        tmp_path / "proj", tmp_path / "src", "auto", python="/opt/py/bin/python"
    )
    loaded = registry.load().projects[registry.key(tmp_path / "proj")]
    assert loaded == entry
    assert (loaded.source, loaded.mode, loaded.python) == (
        registry.key(tmp_path / "src"),
        "auto",
        "/opt/py/bin/python",
    )
    assert loaded.target.endswith("/proj/.praxis-os")


def test_register_defaults_to_the_running_interpreter(tmp_path: Path) -> None:
    import sys

    assert registry.register(tmp_path / "p", tmp_path / "s").python == sys.executable


def test_unknown_mode_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        registry.register(tmp_path / "p", tmp_path / "s", "sometimes")
    assert "notify" in (err.value.hint or "")


def test_projects_for_source_matches_through_symlinks(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "src")
    registry.register(tmp_path / "a", tmp_path / "link")
    registry.register(tmp_path / "b", tmp_path / "other")
    found = registry.projects_for_source(tmp_path / "src")
    assert [p.project for p in found] == [registry.key(tmp_path / "a")]


def test_unregister_forgets_only_that_project(tmp_path: Path) -> None:
    registry.register(tmp_path / "a", tmp_path / "s")
    registry.register(tmp_path / "b", tmp_path / "s")
    assert registry.unregister(tmp_path / "a") is True
    assert registry.unregister(tmp_path / "a") is False
    assert list(registry.load().projects) == [registry.key(tmp_path / "b")]


def test_notices_and_auto_runs_are_kept_and_survive_reregistering(tmp_path: Path) -> None:
    registry.register(tmp_path / "p", tmp_path / "s")
    registry.record_notice(tmp_path / "p", "abc123")
    registry.record_auto_run(tmp_path / "p", tmp_path / "x.log", 4)
    registry.register(tmp_path / "p", tmp_path / "s", "auto")
    assert [n["source_rev"] for n in registry.notices(tmp_path / "p")] == ["abc123"]
    run = registry.auto_runs(tmp_path / "p")[0]
    assert (run["log"], run["exit_code"]) == (str(tmp_path / "x.log"), 4)
    registry.clear_notices(tmp_path / "p")
    assert registry.notices(tmp_path / "p") == []


def test_history_is_bounded(tmp_path: Path) -> None:
    registry.register(tmp_path / "p", tmp_path / "s")
    for i in range(registry.KEEP + 5):
        registry.record_notice(tmp_path / "p", f"rev{i}")
    revs = [n["source_rev"] for n in registry.notices(tmp_path / "p")]
    assert len(revs) == registry.KEEP and revs[-1] == f"rev{registry.KEEP + 4}"


def test_notices_for_unregistered_projects_are_ignored(tmp_path: Path) -> None:
    registry.record_notice(tmp_path / "ghost", "abc")
    assert registry.load().projects == {}


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"projects": []}', '{"projects": {"x": 1}}']
)
def test_corrupt_file_raises_state_error_with_hint_and_is_left_alone(
    home: Path, content: str
) -> None:
    home.mkdir()
    (home / "projects.json").write_text(content)
    with pytest.raises(StateError) as err:
        registry.load()
    assert "projects.json" in err.value.message
    assert err.value.hint and "delete it" in err.value.hint
    with pytest.raises(StateError):
        registry.register(home / "p", home / "s")
    assert (home / "projects.json").read_text() == content


def test_file_is_plain_sorted_json(home: Path, tmp_path: Path) -> None:
    registry.register(tmp_path / "p", tmp_path / "s")
    data = json.loads((home / "projects.json").read_text())
    assert data["format"] == registry.FORMAT
    assert list(data["projects"]) == [registry.key(tmp_path / "p")]
