"""Parking a real `praxis-upgrade run` (or `resume`, or `rollback`) at a chosen point and
SIGKILLing it there (by its pid).

A plugin distribution (`install_faultkit`) is put on the killed run's PYTHONPATH only; what it
does is read from ``$FAULTKIT_POINT`` (JSON). At the named point it writes a note and sleeps;
the test, which waits for the note, kills the process group the run leads with SIGKILL. Nothing
is timed: the run is stopped exactly where the point says, and no code of the run (no
``finally``, no ``except``) gets to run after it.

Points (``Point.when``):

* ``before``: a step's hook is about to run; the engine has saved the session naming the step.
* ``after``: the step's hook returned; the engine has not saved its result yet.
* ``write``: inside the step, during its `n`-th atomic write outside ``.cache/`` (this tool's
  runtime files): the new bytes are in the temp file beside the destination, not renamed onto it.
* ``call``: inside the step, just before a named function is called (`call` is
  ``module:attribute``; `arg`, if given, must be an element of the first argument, a command).

Steps are the engine's (``engine.steps.STEPS``) plus ``report`` (the reports of a finished
session, after it was saved as completed) and ``rollback`` (a rollback restoring the backup).
The killed command may be `run`, `resume` or `rollback`. ``write`` and ``call`` reach inside
the built-in steps by wrapping internals in the killed process only
(``praxis_upgrade.util.fs._replacing``, the named attribute): if one is renamed, or a step
writes fewer files than `n`, the run ends without parking and `killed_run` fails saying so,
never a silent pass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kits.fakeplugin import install_plugin_dist

ENV = "FAULTKIT_POINT"

PLUGIN_SOURCE = '''
"""faultkit: parks this process at the point $FAULTKIT_POINT names, for the test to kill it."""
import contextlib, importlib, json, os, time
from pathlib import Path

from praxis_upgrade import hookimpl
from praxis_upgrade.util import fs

POINT = json.loads(os.environ.get("FAULTKIT_POINT") or "{}")
STATE = {"step": None, "target": None, "writes": 0}
HOOKS = {
    "preflight": "praxis_preflight",
    "plan": "praxis_plan",
    "backup": "praxis_backup",
    "migrate": "praxis_migrate",
    "content": "praxis_content",
    "server.stop": "praxis_stop_server",
    "server.code": "praxis_server_code",
    "server.environment": "praxis_environment",
    "server.restart": "praxis_restart_server",
    "validation": "praxis_validate",
    "cleanup": "praxis_cleanup",
    "report": "praxis_report",
    "rollback": "praxis_rollback",
}


def park(**where):
    """Tell the test where this process stands, then wait for its SIGKILL."""
    note = Path(POINT["note"])
    tmp = note.with_name(note.name + ".part")
    tmp.write_text(json.dumps({"pid": os.getpid(), **POINT, **where}))
    os.rename(tmp, note)
    while True:
        time.sleep(60)


def _wrapper(step):
    def hook(ctx):
        STATE["step"], STATE["target"], STATE["writes"] = step, Path(ctx.target), 0
        if POINT.get("when") == "before" and POINT.get("step") == step:
            park()
        result = yield
        if POINT.get("when") == "after" and POINT.get("step") == step:
            park()
        STATE["step"] = None
        return result

    return hook


for _step, _hook in HOOKS.items():
    globals()[_hook] = hookimpl(wrapper=True)(_wrapper(_step))

if POINT.get("when") == "write":
    _replacing = fs._replacing

    @contextlib.contextmanager
    def _replacing_then_park(path, *args, **kwargs):
        with _replacing(path, *args, **kwargs) as f:
            yield f
            target = STATE["target"]
            if STATE["step"] == POINT["step"] and target is not None:
                if not Path(path).resolve().is_relative_to((target / ".cache").resolve()):
                    STATE["writes"] += 1
                    if STATE["writes"] == POINT["n"]:
                        f.flush()
                        park(path=str(path))

    fs._replacing = _replacing_then_park

if POINT.get("when") == "call":
    _module, _attr = POINT["call"].split(":")
    _owner = importlib.import_module(_module)
    _original = getattr(_owner, _attr)

    def _call_then_park(*args, **kwargs):
        first = args[0] if args else None
        if STATE["step"] == POINT["step"] and (
            POINT.get("arg") is None or (isinstance(first, list) and POINT["arg"] in first)
        ):
            park()
        return _original(*args, **kwargs)

    setattr(_owner, _attr, _call_then_park)
'''


@dataclasses.dataclass(frozen=True)
class Point:
    """Where to kill the run (see the module docstring)."""

    when: str  # before | after | write | call
    step: str
    n: int = 0  # write: the n-th write of the step
    call: str = ""  # call: "module:attribute"
    arg: str | None = None  # call: an element the command (first argument) must hold

    @property
    def id(self) -> str:
        extra = {"write": f"#{self.n}", "call": f"@{self.call.split(':')[-1]}"}.get(self.when, "")
        return f"{self.when}:{self.step}{extra}"


def install_faultkit(site: Path) -> Path:
    """Install the faultkit plugin distribution into ``site`` (for the killed run only)."""
    return install_plugin_dist(site, name="faultkit", source=PLUGIN_SOURCE)


def killed_run(
    site: Path,
    point: Point,
    note: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> tuple[dict[str, object], str]:
    """Run ``python -m praxis_upgrade ARGS`` (in `env`, default ours) with the plugin, wait
    until it parks at `point`, SIGKILL its process group (it leads one) and reap it.

    Returns the plugin's note (``pid``, the point, ``path`` of a parked write) and the run's
    stderr. Fails if the run ends without reaching the point.
    """
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env[ENV] = json.dumps({**dataclasses.asdict(point), "note": str(note)})
    err = note.with_name(note.name + ".stderr")
    with open(err, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "praxis_upgrade", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,  # the run and anything it started, killed as one
        )
        try:
            deadline = time.monotonic() + timeout
            while not note.exists():
                if proc.poll() is not None:
                    raise AssertionError(
                        f"the run ended (exit {proc.returncode}) before {point.id}:\n"
                        + err.read_text(errors="replace")[-3000:]
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"the run never reached {point.id} in {timeout} s")
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return json.loads(note.read_text()), err.read_text(errors="replace")
