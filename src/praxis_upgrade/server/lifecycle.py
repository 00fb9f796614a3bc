"""This project's running MCP server: found by the pid in its state file, verified, stopped,
restarted.

Never by pattern: the pid comes from ``.praxis-os/.mcp_server_state.json`` and is only signalled
after ``/proc`` confirms it runs ``mcp_server`` for *this* project (cwd, PYTHONPATH,
AGENT_OS_BASE_PATH or the venv interpreter). Before each signal the process identity (start time
and command line) is checked again, and the signal goes through a pidfd where the OS has one, so a
recycled pid is never hit. Other operating systems get "unknown, not touched".
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from praxis_upgrade.server.venv import venv_python
from praxis_upgrade.store import SERVER_STATE_FILE, Store

STATE_FILE = SERVER_STATE_FILE
SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
IDE_RELOAD = (
    "reload the prAxIs MCP server in your IDE (Cursor: Settings > MCP > restart the server; "
    "VS Code / Claude Code: reload the window) so it starts the upgraded version"
)


@dataclasses.dataclass
class ServerInfo:
    """The server's own state file: how and where it listens, and its pid."""

    pid: int
    transport: str | None = None
    version: str | None = None
    port: int | None = None
    host: str | None = None
    path: str | None = None
    url: str | None = None
    started_at: str | None = None
    project: dict[str, Any] | None = None

    @classmethod
    def read(cls, target: Path) -> ServerInfo | None:
        """The state file's contents; None when there is none. Raises ValueError when unreadable."""
        try:
            data = json.loads((target / STATE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            raise ValueError("no integer pid")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Foreign:
    """A state file whose pid is not (or cannot be shown to be) this project's live server."""

    # "stale" (dead pid), "foreign" (another program), "self" (runs us), "unknown", "unreadable"
    kind: str
    message: str
    pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Captured:
    """How a server was started, recorded before stopping it, so it can be started the same way."""

    pid: int
    argv: list[str]
    cwd: str
    env: dict[str, str]
    transport: str | None
    ppid: int | None = None

    @property
    def ide_owned(self) -> bool:
        """Whether only the program that started the server (the IDE) can restart it usefully.

        A stdio server talks to its parent over its stdin/stdout. A dual server does too, so
        while that parent lives (it will start a new server on reload, and an orphan started
        by us would hold the HTTP port) it is the parent's to restart; an http-only server, or
        a dual one whose parent is gone, is restarted by us.
        """
        if self.transport in (None, "stdio"):
            return True
        return (
            self.transport == "dual"
            and self.ppid is not None
            and self.ppid > 1
            and alive(self.ppid)
        )

    def to_json(self) -> dict[str, Any]:
        """JSON for the session file; secret-looking variables are left out (restart re-reads
        ours)."""
        data = dataclasses.asdict(self)
        data["env"] = {k: v for k, v in self.env.items() if not SECRET.search(k)}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Captured:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclasses.dataclass
class ServerProcess:
    """A live process verified to be this project's server."""

    pid: int
    info: ServerInfo
    argv: list[str]
    cwd: str
    env: dict[str, str]
    start_time: str
    ppid: int | None
    reason: str
    target: Path

    def capture(self) -> Captured:
        return Captured(
            self.pid, list(self.argv), self.cwd, dict(self.env), self.info.transport, self.ppid
        )


@dataclasses.dataclass
class StopOutcome:
    pid: int
    stopped: bool
    signals: list[str]
    seconds: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class RestartOutcome:
    restarted: bool
    reload_ide: bool
    message: str
    pid: int | None = None
    argv: list[str] | None = None
    url: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def have_proc() -> bool:
    return sys.platform.startswith("linux") and Path("/proc/self/stat").exists()


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, ppid, start time) from /proc/<pid>/stat, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), fields[19]


def alive(pid: int) -> bool:
    """Whether pid is a live process (a zombie counts as dead; its parent reaps it, not us)."""
    if have_proc():
        st = _stat(pid)
        return st is not None and st[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _argv(pid: int) -> list[str]:
    return [
        a
        for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        if a
    ]


def _environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def _same(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _belongs(target: Path, argv: list[str], cwd: str, env: dict[str, str]) -> str | None:
    """Why this process is target's server (a short reason), or None when it is not."""
    if not any("mcp_server" in a for a in argv):
        return None
    if _same(cwd, target.parent):
        return "cwd is the project"
    if any(p and _same(p, target) for p in env.get("PYTHONPATH", "").split(os.pathsep)):
        return "PYTHONPATH is the install"
    base = env.get("AGENT_OS_BASE_PATH")
    if base and (_same(base, target) or _same(base, target.parent)):
        return "AGENT_OS_BASE_PATH is the project"
    exe = os.path.normpath(os.path.join(cwd, argv[0])) if argv else ""
    if exe.startswith(os.path.normpath(Store(target).venv) + os.sep):
        return "runs the install's venv interpreter"
    return None


def _ancestry() -> set[int]:
    """Our own pid and those of our parents: stopping one of them would kill this very upgrade."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        st = _stat(pid)
        pid = st[1] if st else 0
    return pids


def find_server(target: Path) -> ServerProcess | Foreign | None:
    """This project's live server, a reason it is not one, or None (no state file)."""
    try:
        info = ServerInfo.read(target)
    except (OSError, ValueError) as exc:
        return Foreign(
            "unreadable", f"{target / STATE_FILE} is unreadable ({exc}); nothing was stopped"
        )
    if info is None:
        return None
    pid = info.pid
    if not alive(pid):
        return Foreign(
            "stale",
            f"the state file names pid {pid}, which is not running (stale file; left as is)",
            pid,
        )
    if not have_proc():
        return Foreign(
            "unknown",
            f"cannot verify what pid {pid} is on {sys.platform}; not touched: "
            "stop the server yourself if it runs",
            pid,
        )
    try:
        argv, cwd, env, st = _argv(pid), os.readlink(f"/proc/{pid}/cwd"), _environ(pid), _stat(pid)
    except (PermissionError, FileNotFoundError, ProcessLookupError) as exc:
        return Foreign("unknown", f"cannot inspect pid {pid} ({exc}); not touched", pid)
    if pid in _ancestry():
        return Foreign(
            "self",
            f"the server (pid {pid}) is running this upgrade; it was not stopped: "
            f"when the upgrade is done, {IDE_RELOAD}",
            pid,
        )
    reason = _belongs(target, argv, cwd, env)
    if reason is None or st is None:
        shown = " ".join(argv)[:200]
        return Foreign(
            "foreign",
            f"pid {pid} from the state file is another program ({shown!r}); left alone",
            pid,
        )
    return ServerProcess(pid, info, argv, cwd, env, st[2], st[1], reason, target)


def _unchanged(proc: ServerProcess) -> bool:
    st = _stat(proc.pid) if have_proc() else None
    try:
        return (
            st is not None
            and st[0] not in ("Z", "X")
            and st[2] == proc.start_time
            and _argv(proc.pid) == proc.argv
        )
    except OSError:
        return False


def _signal(proc: ServerProcess, sig: signal.Signals) -> bool:
    """Send sig to exactly the verified process; False when it is gone or no longer the same one."""
    pidfd = None
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(proc.pid)
    try:
        if not _unchanged(proc):  # checked after the pidfd is held: the fd pins this very process
            return False
        if pidfd is not None and hasattr(signal, "pidfd_send_signal"):
            signal.pidfd_send_signal(pidfd, sig)
        else:
            os.kill(proc.pid, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def stop_server(proc: ServerProcess, *, timeout: float = 5) -> StopOutcome:
    """SIGTERM the verified server, wait up to `timeout`, then SIGKILL; by pid only."""
    started, sent = time.monotonic(), []
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 3.0)):
        if not _signal(proc, sig):
            break
        sent.append(sig.name)
        if _wait_gone(proc.pid, wait):
            break
    gone = not _unchanged(proc)
    if gone and "SIGKILL" in sent:
        with contextlib.suppress(OSError, ValueError):
            left = ServerInfo.read(proc.target)
            if (
                left is not None and left.pid == proc.pid
            ):  # a killed server cannot clean up after itself
                (proc.target / STATE_FILE).unlink()
    if not sent and alive(proc.pid):
        msg = f"pid {proc.pid} is no longer the server (recycled by another process); not signalled"
    elif gone:
        msg = f"stopped server pid {proc.pid} ({', '.join(sent) or 'it had already exited'})"
    else:
        msg = f"server pid {proc.pid} survived {', '.join(sent)}; stop it by hand"
    return StopOutcome(proc.pid, gone, sent, time.monotonic() - started, msg)


def knows_transport(server_dir: Path) -> bool:
    """Whether this server version's CLI has ``--transport`` (required since 1.6)."""
    main = server_dir / "__main__.py"
    return main.exists() and "--transport" in main.read_text(encoding="utf-8", errors="replace")


def _launch_argv(captured: Captured, target: Path, extra_args: list[str]) -> list[str]:
    argv = list(captured.argv)
    if argv and os.sep in argv[0]:
        exe: str | None = os.path.join(captured.cwd, argv[0])
    else:
        exe = shutil.which(argv[0], path=captured.env.get("PATH")) if argv else None
    if not exe or not os.path.exists(exe):
        argv = [str(venv_python(target)), *(argv[1:] or ["-m", "mcp_server"])]
    if knows_transport(target / "mcp_server") and not _has_option(argv, "--transport"):
        argv += ["--transport", captured.transport or "dual"]
    groups: list[list[str]] = []
    for arg in extra_args:  # an option with its values; one the server already gets is not repeated
        if arg.startswith("-") or not groups:
            groups.append([arg])
        else:
            groups[-1].append(arg)
    for group in groups:
        if not (group[0].startswith("-") and _has_option(argv, group[0].split("=")[0])):
            argv += group
    return argv


def _has_option(argv: list[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in argv)


def restart_server(
    captured: Captured,
    target: Path,
    *,
    extra_args: list[str] | tuple[str, ...] = (),
    timeout: float = 15,
) -> RestartOutcome:
    """Start the server again the way it was started, detached, and wait for its state file.

    A server owned by its IDE (see ``Captured.ide_owned``) cannot be restarted from here: the
    outcome tells the user to reload it in the IDE. Others are restarted in a new session with
    the same argv, environment and cwd; a dual server's stdin is then a pipe the server itself
    holds open, so its stdio half does not see EOF.
    """
    if captured.ide_owned:
        how = (
            "over stdio"
            if captured.transport in (None, "stdio")
            else f"in dual mode by pid {captured.ppid}"
        )
        return RestartOutcome(False, True, f"the server was run {how} (your IDE): {IDE_RELOAD}")
    started = time.monotonic()
    argv = _launch_argv(captured, target, list(extra_args))
    env = dict(captured.env)
    env.update({k: v for k, v in os.environ.items() if SECRET.search(k) and k not in env})
    log_path = Store(target).restart_log
    log_path.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    try:
        with open(log_path, "ab") as log:
            child = subprocess.Popen(
                argv,
                cwd=captured.cwd,
                env=env,
                start_new_session=True,
                stdout=log,
                stderr=log,
                stdin=read_end if captured.transport == "dual" else subprocess.DEVNULL,
                pass_fds=(write_end,) if captured.transport == "dual" else (),
            )
    except OSError as exc:
        return RestartOutcome(False, False, f"could not start {argv[0]}: {exc}", argv=argv)
    finally:
        os.close(read_end)
        os.close(write_end)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
            return RestartOutcome(
                False,
                False,
                f"the restarted server exited with {code}:\n{tail}",
                argv=argv,
                seconds=time.monotonic() - started,
            )
        with contextlib.suppress(OSError, ValueError):
            info = ServerInfo.read(target)
            if info is not None and info.pid == child.pid:
                note = f"; {IDE_RELOAD} for its stdio half" if captured.transport == "dual" else ""
                return RestartOutcome(
                    True,
                    captured.transport == "dual",
                    f"restarted the server (pid {child.pid}, {info.url or 'no url'}){note}",
                    child.pid,
                    argv,
                    info.url,
                    time.monotonic() - started,
                )
        time.sleep(0.05)
    return RestartOutcome(
        False,
        False,
        f"the restarted server (pid {child.pid}) wrote no state file within "
        f"{timeout:.0f}s; see {log_path}",
        child.pid,
        argv,
        None,
        time.monotonic() - started,
    )
