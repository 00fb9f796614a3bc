"""Steps after a dependency install (``playwright install chromium``), run with the venv's
executables."""

from __future__ import annotations

import dataclasses
import enum
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from praxis_upgrade.server.requirements import requirement_names
from praxis_upgrade.store import Store


class Need(enum.Enum):
    """Whether an upgrade stands or falls with a post-install step.

    REQUIRED: the server cannot work without it; a failure rolls the upgrade back. WANTED: one
    feature needs it (the browser tool needs Chromium), the server starts without it; a failure
    is reported with the command to run later and the upgrade stands if the server validates.
    """

    REQUIRED = "required"
    WANTED = "wanted"


POST_INSTALL = {"playwright": ["playwright", "install", "chromium"]}
NEED = {"playwright": Need.WANTED}  # a step not listed here is required


def need_of(step: Sequence[str]) -> Need:
    """The policy of one post-install step (see ``Need``)."""
    for name, command in POST_INSTALL.items():
        if list(step) == command:
            return NEED.get(name, Need.REQUIRED)
    return Need.REQUIRED


Progress = Callable[[str], None]


def bin_dir(venv: Path) -> Path:
    """Where a venv keeps its executables (``bin``, or ``Scripts`` on Windows)."""
    return venv / ("Scripts" if os.name == "nt" else "bin")


HEARTBEAT = 5.0  # seconds of silence after which a long command is said to be still running


def run_streamed(
    cmd: Sequence[str],
    progress: Progress | None,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    heartbeat: float = HEARTBEAT,
) -> tuple[int, str]:
    """Run `cmd` (stdin closed), feeding each output line to `progress`; kill it after `timeout`.

    While the command prints nothing (a big download, a build), `progress` also gets
    "still running: <command> (N s)" every `heartbeat` seconds, so a terminal never sits silent.

    Returns:
        The exit code (127 when it cannot start, negative when killed) and the last 60 output lines.
    """
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    except OSError as exc:
        return 127, str(exc)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    quiet = threading.Event()  # set when the command ends
    last = [time.monotonic()]
    started = last[0]
    name = " ".join(Path(cmd[0]).name.split()[:1] + list(cmd[1:3]))

    def beat() -> None:
        while not quiet.wait(heartbeat / 5):
            now = time.monotonic()
            if progress and now - last[0] >= heartbeat:
                last[0] = now
                progress(f"still running: {name} ({now - started:.0f} s)")

    beating = threading.Thread(target=beat, daemon=True)
    beating.start()
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            last[0] = time.monotonic()
            lines.append(line.rstrip("\n"))
            if progress:
                progress(lines[-1])
    finally:
        timer.cancel()
        quiet.set()
        beating.join()
    code = proc.wait()
    if code < 0:
        lines.append(f"killed (signal {-code}); the limit was {timeout:.0f}s")
    return code, "\n".join(lines[-60:])


_MILESTONES = (
    "Collecting ",
    "Downloading ",
    "Processing ",
    "Installing collected packages",
    "Successfully installed",
    "Resolved ",
    "Prepared ",
    "Installed ",
    "Uninstalled ",
    "+ ",
    "carrying ",
    "rebuilding ",
    "still running: ",
)


def installer_milestone(line: str) -> str | None:
    """The line of pip's or uv's output worth showing as progress (a package collected,
    installed, ...), stripped; None for the rest (cache hits, notices, warnings)."""
    text = line.strip()
    return text if text.startswith(_MILESTONES) else None


@dataclasses.dataclass
class StepOutcome:
    """One post-install command (e.g. ``playwright install chromium``) and how it went."""

    command: list[str]
    ok: bool
    returncode: int | None
    seconds: float
    output: str
    message: str
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepOutcome:
        return cls(**data)


def post_install_steps(requirements_text: str) -> list[list[str]]:
    """Commands needed after installing these requirements (``playwright`` -> browser download).

    Commands name executables of the venv (``playwright``), resolved by ``run_post_install``.
    """
    names = requirement_names(requirements_text)
    return [list(POST_INSTALL[n]) for n in POST_INSTALL if n in names]


def run_post_install(
    target: Path,
    steps: Sequence[Sequence[str]],
    *,
    timeout: float = 1800,
    progress: Progress | None = None,
) -> list[StepOutcome]:
    """Run each step with the venv's own executables (never PATH's); report every failure."""
    bindir = bin_dir(Store(target).venv)
    env = dict(
        os.environ,
        VIRTUAL_ENV=str(Store(target).venv),
        PATH=str(bindir) + os.pathsep + os.environ.get("PATH", ""),
    )
    outcomes = []
    for step in steps:
        exe = bindir / (step[0] + (".exe" if os.name == "nt" else ""))
        cmd = [str(exe), *step[1:]]
        started = time.monotonic()
        required = need_of(step) is Need.REQUIRED
        if not exe.exists():
            outcomes.append(
                StepOutcome(
                    cmd,
                    False,
                    None,
                    0.0,
                    "",
                    f"{exe} is missing: is {step[0]} installed in the venv?",
                    required,
                )
            )
            continue
        if progress is not None:
            progress(f"post-install: {' '.join(step)}")
        code, output = run_streamed(cmd, progress, timeout=timeout, env=env)
        ok = code == 0
        outcomes.append(
            StepOutcome(
                cmd,
                ok,
                code,
                time.monotonic() - started,
                output[-2000:],
                "done"
                if ok
                else f"{' '.join(step)} failed (exit {code}); run it by hand: "
                + " ".join(shlex.quote(c) for c in cmd),
                required,
            )
        )
    return outcomes
