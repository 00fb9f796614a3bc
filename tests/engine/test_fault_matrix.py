"""The fault matrix (issue 12 §9): a real `praxis-upgrade run` is SIGKILLed at every step
boundary and inside every step that writes, then `resume` or `rollback` takes over. Some cases
kill that `resume` or `rollback` too, mid-way, and run it again.

`resume` must finish the upgrade exactly as an uninterrupted run does: every file of the install
(the baseline record but for its times), the files beside it (`.gitignore`, IDE configs) and the
venv by its packages. `rollback` must give back the install, the files beside it and the venv
exactly as they were. Either way the user's files are untouched, no temp file of a killed write
and no half-made backup is left, no `*.praxis-rollback-*` copy appears and no session stays open.

The run is parked at its point by the faultkit plugin and killed there by its pid
(kits/faultkit.py), so every point is exact and nothing is timed. The sandbox upgrade
v1.5.0 -> v1.6.0 changes content, server code and the venv's requirements. The cases of the
tests collected run in the background, `JOBS` at a time, each in its own copy of the install and
with its own HOME; each test waits for its case and checks it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kits.clikit import cli as run_cli
from kits.clikit import freeze
from kits.faultkit import Point, install_faultkit, killed_run
from kits.sandboxkit import Sandbox
from kits.upgradekit import tree_hash, upgrade_state
from praxis_upgrade.backups.catalog import list_backups
from praxis_upgrade.content import baseline
from praxis_upgrade.demo import Target
from praxis_upgrade.engine.session import COMPLETED, ROLLED_BACK, RUNNING, SessionStore
from praxis_upgrade.engine.steps import STEPS
from praxis_upgrade.store import BASELINE_FILE, DOT_DIR, Store

pytestmark = pytest.mark.slow

RESUME, ROLLBACK = "resume", "rollback"
# cases played at once (each is mostly one busy process at a time): 2 on a 2-core machine
JOBS = min(4, max(2, os.cpu_count() or 2))


@dataclasses.dataclass(frozen=True)
class Case:
    point: Point
    recovery: str  # RESUME or ROLLBACK
    again: Point | None = None  # where the first recovery is killed in turn (then run again)

    @property
    def id(self) -> str:
        twice = f"-killed-{self.again.id}" if self.again else ""
        return f"{self.point.id}-{self.recovery}{twice}"


def _before(step: str, recovery: str) -> Case:
    return Case(Point("before", step), recovery)


ENV_INSTALL = Point(  # old venv renamed aside, fresh venv made, its packages not installed yet
    "call", "server.environment", call="praxis_upgrade.server.venv:_step", arg="install"
)
MARK_GOOD = Point(  # baseline saved, old venv moved into the backup; the backup not marked good
    "call", "cleanup", call="praxis_upgrade.backups.catalog:mark_good"
)
BOUNDARIES = [
    _before("preflight", RESUME),  # phase 0 writes nothing, not even its session
    _before("backup", ROLLBACK),
    _before("migrate", RESUME),
    _before("content", ROLLBACK),
    _before("server.stop", RESUME),
    _before("server.code", ROLLBACK),
    _before("server.environment", RESUME),
    _before("server.restart", ROLLBACK),
    _before("validation", RESUME),
    _before("cleanup", ROLLBACK),
    _before("report", ROLLBACK),  # the session was saved as completed; no report written yet
]
# the n-th write of a step: about half of what v1.5.0 -> v1.6.0 writes in it (backup 127,
# content 103, server code 22); the first write of cleanup is the new baseline record
INSIDE = [
    Case(Point("write", "backup", n=60), RESUME),
    Case(Point("write", "backup", n=60), ROLLBACK),
    Case(Point("write", "content", n=50), RESUME),
    Case(Point("write", "content", n=50), ROLLBACK),
    Case(Point("after", "content"), RESUME),
    Case(Point("write", "server.code", n=11), RESUME),
    Case(Point("after", "server.code"), ROLLBACK),
    Case(ENV_INSTALL, RESUME),
    Case(ENV_INSTALL, ROLLBACK),
    Case(Point("after", "server.environment"), ROLLBACK),
    Case(Point("after", "validation"), ROLLBACK),
    Case(Point("write", "cleanup", n=1), RESUME),
    Case(MARK_GOOD, ROLLBACK),
    Case(Point("after", "cleanup"), RESUME),
]
# the recovery killed too, then run again: a resume or a rollback is itself a run that may die
RECOVERY_KILLED = [
    Case(Point("write", "content", n=50), RESUME, again=Point("write", "content", n=20)),
    Case(Point("before", "server.code"), RESUME, again=ENV_INSTALL),
    Case(Point("after", "content"), ROLLBACK, again=Point("write", "rollback", n=40)),
    Case(Point("after", "server.environment"), ROLLBACK, again=Point("write", "rollback", n=80)),
]
CASES = BOUNDARIES + INSIDE + RECOVERY_KILLED


class LeftLitter(AssertionError):
    """Recovery worked, but a temp file or a half-made backup of the killed run is still there."""


def _param(case: Case) -> object:
    return pytest.param(case, id=case.id)


# -- what is compared --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Snapshot:
    install: dict[str, str]  # upgrade_state, the baseline record without its times
    beside: dict[str, str]  # the project beside the install: .gitignore, IDE configs, user code
    venv: str  # pip freeze
    user: dict[str, str | None]  # sha256 of each file the user owns or edited (None: absent)
    litter: list[str]  # temp files of atomic writes, outside venvs
    half_backups: list[str]  # backup folders never finished
    rollback_copies: list[str]  # *.praxis-rollback-* (a file of the user's set aside)
    sessions: list[tuple[str, str, list[str]]]  # (status, step, completed steps), oldest first
    quarantined: list[str]
    good_backups: int
    previous_venv: bool  # venv.praxis-prev still there


def _baseline_without_times(praxis: Path) -> str:
    """The baseline record's digest with its volatile parts blanked: when it was written and
    the local files' mtimes (a later run writes the same files at other times)."""
    record = baseline.load(praxis)
    if record is None:
        return "absent"
    record.installed_at, record.recorded_ns = "", 0
    for entry in record.files.values():
        entry.mtime_ns = -1
    return hashlib.sha256(json.dumps(record.to_json(), sort_keys=True).encode()).hexdigest()


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _snapshot(target: Target) -> Snapshot:
    praxis, project = target.praxis, target.project
    install = upgrade_state(praxis, skip=("venv",))
    if BASELINE_FILE in install:
        mode = install[BASELINE_FILE].rsplit(":", 1)[1]
        install[BASELINE_FILE] = f"{_baseline_without_times(praxis)}:{mode}"
    store = SessionStore(praxis)
    venvs = (Store(praxis).venv, Store(praxis).previous_venv)
    return Snapshot(
        install=install,
        beside=tree_hash(project, skip=(DOT_DIR,)),
        venv=freeze(praxis),
        user={rel: _sha(praxis / rel) for rel in [*target.user_files, *target.user_edits]},
        litter=sorted(
            str(p.relative_to(project))
            for p in project.rglob(".*.tmp")
            if not any(p.is_relative_to(venv) for venv in venvs)  # pip's business
        ),
        half_backups=[b.id for b in list_backups(praxis) if not b.complete],
        rollback_copies=sorted(
            str(p.relative_to(project)) for p in project.rglob("*.praxis-rollback-*")
        ),
        sessions=[(s.status, s.step, list(s.completed_steps)) for s in store.all()],
        quarantined=store.quarantined(),
        good_backups=sum(b.good for b in list_backups(praxis)),
        previous_venv=Store(praxis).previous_venv.exists(),
    )


# -- playing the cases -------------------------------------------------------------------------


def _private_env(home: Path) -> dict[str, str]:
    """Our environment with a HOME of its own (git identity, the project registry), as
    conftest's `_isolated_env` gives each test: module fixtures run before it."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAXIS_UPGRADE_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


def _run_args(target: Target, source: Path) -> list[str]:
    return [
        "run",
        *("--target", str(target.project), "--source", str(source)),
        *("--yes", "--conflicts", "keep-local"),
    ]


@dataclasses.dataclass(frozen=True)
class Played:
    note: dict[str, object]  # where the run was parked when it was killed
    at_kill: list[tuple[str, str, list[str]]]  # the saved sessions right after the kill
    half_write: int  # temp files beside the parked write's destination, right after the kill
    previous_venv: bool  # venv.praxis-prev, right after the kill
    backups: list[tuple[bool, bool, bool]]  # (complete, good, holds the old venv) at the kill
    recovered: subprocess.CompletedProcess[str]
    after: Snapshot


def _play(case: Case, sandbox: Sandbox, site: Path, folder: Path) -> Played:
    source = sandbox.source.path
    target = sandbox.target(folder / "project", "v1.5.0", venv=True)
    env = _private_env(folder / "home")
    note, _ = killed_run(
        site, case.point, folder / "note.json", *_run_args(target, source), env=env
    )
    praxis = target.praxis
    at_kill = [(s.status, s.step, list(s.completed_steps)) for s in SessionStore(praxis).all()]
    parked = Path(str(note.get("path", "")))
    half_write = len(list(parked.parent.glob(f".{parked.name}.*.tmp"))) if parked.name else 0
    backups = [(b.complete, b.good, b.kept_venv.is_dir()) for b in list_backups(praxis)]
    previous_venv = Store(praxis).previous_venv.exists()
    recover = (case.recovery, "--target", str(target.project))
    if case.again is not None:
        killed_run(site, case.again, folder / "again.json", *recover, env=env)
    recovered = _cli(env, *recover)
    return Played(note, at_kill, half_write, previous_venv, backups, recovered, _snapshot(target))


def _clean_upgrade(target: Target, source: Path, folder: Path) -> Snapshot:
    done = _cli(_private_env(folder / "home"), *_run_args(target, source))
    assert done.returncode == 0, done.stderr
    return _snapshot(target)


class Matrix:
    """The cases of this module that were collected, played in the background."""

    def __init__(self, sandbox: Sandbox, root: Path, cases: list[Case]) -> None:
        source = sandbox.source.path
        site = install_faultkit(root / "site")
        # the first copy builds the sandbox's install and venv (not thread-safe); later copies
        # only read them
        reference = sandbox.target(root / "reference" / "project", "v1.5.0", venv=True)
        self.before = _snapshot(reference)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=JOBS)
        self.clean = self.pool.submit(_clean_upgrade, reference, source, root / "reference")
        self.played: dict[Case, concurrent.futures.Future[Played]] = {}
        for i, case in enumerate(cases):
            folder = root / f"case-{i:02d}"
            self.played[case] = self.pool.submit(_play, case, sandbox, site, folder)


@pytest.fixture(scope="module")
def matrix(
    request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    ours = [
        item for item in request.session.items if getattr(item, "module", None) is request.module
    ]
    calls = [getattr(item, "callspec", None) for item in ours]
    cases = [c.params["case"] for c in calls if c is not None and "case" in c.params]
    played = Matrix(sandbox, tmp_path_factory.mktemp("fault-matrix"), cases)
    yield played
    played.pool.shutdown(wait=True, cancel_futures=True)


# -- the checks ----------------------------------------------------------------------------------

STEP_NAMES = [s.name for s in STEPS]


def _check_where_it_died(case: Case, played: Played) -> None:
    """The kill came where the point says: what the engine had saved when it died."""
    step, when = case.point.step, case.point.when
    if step in ("preflight", "plan"):
        assert played.at_kill == [], "phase 0 saves no session"
        return
    (saved,) = played.at_kill
    if step == "report":
        assert saved == (COMPLETED, "", STEP_NAMES)
        return
    assert saved[0] == RUNNING and saved[1] == step, saved
    assert saved[2] == STEP_NAMES[: STEP_NAMES.index(step)], f"{when}: {step} is not saved as done"
    if when == "write":  # the new bytes are in the temp file, not under the file's name yet
        assert played.half_write == 1, played.note
    if case.point == ENV_INSTALL or case.point == Point("after", "server.environment"):
        assert played.previous_venv, "the old venv is aside while the new one is built"
    if case.point == MARK_GOOD:  # the old venv went into the backup, which is not good yet
        assert not played.previous_venv and played.backups == [(True, False, True)]


def _check_recovered(case: Case, played: Played, before: Snapshot, clean: Snapshot) -> None:
    done, after = played.recovered, played.after
    assert "Traceback" not in done.stderr, done.stderr
    if case.point.step in ("preflight", "plan"):  # nothing to resume: nothing was written
        assert done.returncode == 1 and "no interrupted session" in done.stderr, done.stderr
        want, status = before, None
    elif case.recovery == RESUME:
        assert done.returncode == 0, done.stderr
        want, status = clean, COMPLETED
    else:
        assert done.returncode == 0, done.stderr
        want, status = before, ROLLED_BACK
    assert _diff(after.install, want.install) == [], "the install differs"
    assert _diff(after.beside, want.beside) == [], "the files beside the install differ"
    assert after.venv == want.venv
    assert after.user == before.user, "a file of the user's was changed"
    assert after.rollback_copies == []
    assert [s[0] for s in after.sessions] == ([status] if status else [])
    assert after.quarantined == [] and not after.previous_venv
    if status == COMPLETED:
        assert after.good_backups == 1
    if after.litter or after.half_backups:
        raise LeftLitter(f"temp files: {after.litter}; unfinished backups: {after.half_backups}")


def _diff(got: dict[str, str], want: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    return [
        (k, got.get(k), want.get(k))
        for k in sorted(set(got) | set(want))
        if got.get(k) != want.get(k)
    ]


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_a_run_killed_at_any_point_is_finished_by_resume_or_undone_by_rollback(
    case: Case, matrix: Matrix
) -> None:
    played = matrix.played[case].result()
    _check_where_it_died(case, played)
    _check_recovered(case, played, matrix.before, matrix.clean.result())


def test_the_matrix_kills_at_every_step_boundary_and_inside_every_step_that_writes() -> None:
    boundaries = {c.point.step for c in BOUNDARIES}
    assert boundaries >= set(STEP_NAMES) - {"plan"}  # plan: as before preflight, nothing saved
    writers = {"backup", "content", "server.code", "server.environment", "cleanup"}
    assert writers <= {c.point.step for c in INSIDE if c.point.when in ("write", "call")}
    assert {RESUME, ROLLBACK} == {c.recovery for c in BOUNDARIES} == {c.recovery for c in INSIDE}
    assert {RESUME, ROLLBACK} == {c.recovery for c in RECOVERY_KILLED}
    assert all(c.again is not None for c in RECOVERY_KILLED)
