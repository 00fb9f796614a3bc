"""The project's MCP server: found by its state file's pid, verified, stopped, restarted.

Never by pattern, and one code path on Linux, macOS and Windows (psutil makes the platform's
calls). The pid in ``.praxis-os/.mcp_server_state.json`` is the server only when that process
runs the install's venv interpreter with ``-m mcp_server`` (or exactly the command line the state
file records), belongs to this project (cwd, PYTHONPATH, AGENT_OS_BASE_PATH or that venv), was
created no later than the file was written (``CLOCK_SLACK`` aside), and is not this process or an
ancestor. Anything else (``tail -f .praxis-os/mcp_server/x.py``, a test run, an editor, a reused
pid) is reported and never signalled. Stopping terminates the server and its children, waits,
then kills the survivors, each only while its pid still names the same process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.server.postinstall import bin_dir
from praxis_upgrade.server.venv import venv_python
from praxis_upgrade.store import SERVER_STATE_FILE, Store
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    import psutil
else:  # heavy: loaded on first use, not at start-up (a dry run never uses it)
    psutil = lazy_module("psutil")

STATE_FILE = SERVER_STATE_FILE
SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
IDE_RELOAD = (
    "reload the prAxIs MCP server in your IDE (Cursor: Settings > MCP > restart the server; "
    "VS Code / Claude Code: reload the window) so it starts the upgraded version"
)
SERVER_MODULE = "mcp_server"
# How much later than the state file's mtime the server's create time may look. The server
# writes the file after it started, so its create time is earlier by its startup time; the slack
# only absorbs how coarsely both clocks are read: psutil derives a Linux create time from the
# boot time, which /proc/stat gives in whole seconds (up to 1 s off), and some filesystems keep
# mtimes in 1 s (HFS+, ext3) or 2 s (FAT) steps. A process started more than this after the file
# was written cannot be the server that wrote it. Within the slack, only a second server of this
# very install (which rewrites the file itself) could pass; a clock stepped back by more than the
# slack while the server started only makes it look foreign, which leaves it running.
CLOCK_SLACK = 2.0
# python, python3, python3.12, pythonw.exe, python3.exe: the interpreter names a venv holds
PYTHON_NAME = re.compile(r"python(?:\d+(?:\.\d+)*)?w?(?:\.exe)?", re.I)
# python options that take a value (the next argument when not attached: -W error, -Xdev)
VALUE_OPTIONS = frozenset("WX")
LONG_VALUE_OPTIONS = frozenset({"--check-hash-based-pycs"})
POLL = 0.02


@dataclasses.dataclass
class ServerInfo:
    """The server's own state file: how and where it listens, its pid and, when the server records
    it, the command line it was started with (``argv``, as the OS reports it)."""

    pid: int
    transport: str | None = None
    version: str | None = None
    port: int | None = None
    host: str | None = None
    path: str | None = None
    url: str | None = None
    started_at: str | None = None
    project: dict[str, Any] | None = None
    argv: list[str] | None = None

    @classmethod
    def read(cls, target: Path) -> ServerInfo | None:
        """The state file's contents; None when there is none. Raises ValueError when unreadable."""
        read = _read_state(target)
        return read[0] if read else None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _read_state(target: Path) -> tuple[ServerInfo, float] | None:
    """The state file's contents and mtime (from the same open file); None when there is none.

    Raises:
        OSError: the file exists but cannot be read.
        ValueError: it is not JSON, or has no integer pid.
    """
    try:
        with open(target / STATE_FILE, "rb") as f:
            mtime = os.fstat(f.fileno()).st_mtime
            data = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    pid = data.get("pid") if isinstance(data, dict) else None
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise ValueError("no integer pid")
    names = {f.name for f in dataclasses.fields(ServerInfo)}
    info = ServerInfo(**{k: v for k, v in data.items() if k in names})
    if not (
        isinstance(info.argv, list) and info.argv and all(isinstance(a, str) for a in info.argv)
    ):
        info.argv = None  # a malformed record is no evidence either way
    return info, mtime


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
    """A live process verified to be this project's server.

    ``create_time`` is the process's creation time (seconds since the epoch) when it was verified;
    ``handle`` is the psutil process it was read from (None when built by hand: ``stop_server``
    then looks the pid up again), which remembers that creation time, so a pid reused since is
    recognised as another process.
    """

    pid: int
    info: ServerInfo
    argv: list[str]
    cwd: str
    env: dict[str, str]
    create_time: float
    ppid: int | None
    reason: str
    target: Path
    handle: Any = dataclasses.field(default=None, repr=False, compare=False)  # psutil.Process

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


def _gone(proc: Any) -> bool:
    """Whether the psutil process has exited (a zombie counts: its parent reaps it, not us) or
    its pid now names another process."""
    try:
        return not proc.is_running() or proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def alive(pid: int) -> bool:
    """Whether pid is a live process (a zombie counts as dead; its parent reaps it, not us)."""
    if pid <= 0:
        return False
    try:
        return not _gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _same(a: str | Path, b: str | Path) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def python_module(argv: list[str]) -> str | None:
    """The module a Python command line runs with ``-m`` (``python -u -m mcp_server`` ->
    ``mcp_server``); None when it runs a script, ``-c`` code, or nothing."""
    args = iter(argv[1:])
    for arg in args:
        if arg in LONG_VALUE_OPTIONS:
            next(args, None)
            continue
        if arg.startswith("--"):  # --version, --help, ... (a bare "--" ends the options)
            if arg == "--":
                return None
            continue
        if not arg.startswith("-") or arg == "-":
            return None  # a script (or stdin): no module
        flags = arg[1:]
        for i, flag in enumerate(flags):
            if flag in "cm" or flag in VALUE_OPTIONS:
                value = flags[i + 1 :] or next(args, "")
                if flag == "m":
                    return value or None
                if flag == "c":
                    return None
                break  # -W/-X took the rest of this argument as its value
    return None


def _venv_python_path(target: Path, path: str, cwd: str) -> bool:
    """Whether ``path`` (as the process got it, relative to its cwd) names one of the install's
    venv interpreters. The file itself is not resolved: a venv's python is a symlink to the base
    interpreter, which every other venv of that Python shares; its folder is (symlinked
    project folders)."""
    if not path or not os.path.dirname(path):
        return False
    full = os.path.normpath(os.path.join(cwd, path))
    return bool(PYTHON_NAME.fullmatch(os.path.basename(full))) and _same(
        os.path.dirname(full), bin_dir(Store(target).venv)
    )


def _on_path(name: str, cwd: str, env: dict[str, str]) -> str | None:
    """Where a bare command name is found on the process's own PATH; None when it is not."""
    dirs = [os.path.join(cwd, d) for d in env.get("PATH", "").split(os.pathsep) if d]
    return shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None


def _runs_server(
    target: Path, info: ServerInfo, argv: list[str], cwd: str, env: dict[str, str], exe: str
) -> str | None:
    """How this command line is the install's server (a short reason), or None when it is not."""
    if info.argv is not None and argv == info.argv:
        return "runs the command line its state file records"
    if not argv or python_module(argv) != SERVER_MODULE:
        return None
    if _venv_python_path(target, argv[0], cwd):
        return f"the install's venv interpreter runs -m {SERVER_MODULE}"
    # venv launchers (Windows, macOS framework builds) start the base interpreter and name the
    # venv's one here
    if _venv_python_path(target, env.get("__PYVENV_LAUNCHER__", ""), cwd):
        return f"the install's venv interpreter (via its launcher) runs -m {SERVER_MODULE}"
    # a bare "python" found on the process's PATH (an activated venv): the file exec ran must be
    # the venv's interpreter as the process itself resolved it
    found = _on_path(argv[0], cwd, env) if not os.path.dirname(argv[0]) else None
    if found and exe and _venv_python_path(target, found, cwd):
        with contextlib.suppress(OSError):
            if os.path.samefile(found, exe):
                return f"the install's venv interpreter (from PATH) runs -m {SERVER_MODULE}"
    return None


def _belongs(target: Path, argv: list[str], cwd: str, env: dict[str, str]) -> str | None:
    """Why this process is target's (a short reason), or None when nothing ties it to target."""
    if _same(cwd, target.parent):
        return "cwd is the project"
    if _same(cwd, target):
        return "cwd is the install"
    if any(
        p and _same(os.path.join(cwd, p), target)
        for p in env.get("PYTHONPATH", "").split(os.pathsep)
    ):
        return "PYTHONPATH is the install"
    base = env.get("AGENT_OS_BASE_PATH")
    if base and any(_same(os.path.join(cwd, base), t) for t in (target, target.parent)):
        return "AGENT_OS_BASE_PATH is the project"
    if argv and _venv_python_path(target, argv[0], cwd):
        return "runs the install's venv interpreter"
    return None


def _ancestry() -> set[int]:
    """Our own pid and those of our parents: stopping one of them would kill this very upgrade."""
    pids = {os.getpid()}
    with contextlib.suppress(psutil.Error):
        pids.update(p.pid for p in psutil.Process().parents())
    return pids


def _clock(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def find_server(target: Path) -> ServerProcess | Foreign | None:
    """This project's live server, a reason it is not one (never signalled), or None when there is
    no state file (no server has announced itself)."""
    try:
        read = _read_state(target)
    except (OSError, ValueError) as exc:
        return Foreign(
            "unreadable", f"{target / STATE_FILE} is unreadable ({exc}); nothing was stopped"
        )
    if read is None:
        return None
    info, written = read
    pid = info.pid
    stale = Foreign(
        "stale",
        f"the state file names pid {pid}, which is not running (stale file; left as is)",
        pid,
    )
    if not alive(pid):
        return stale
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            argv, cwd, created, ppid = proc.cmdline(), proc.cwd(), proc.create_time(), proc.ppid()
            try:  # only supporting evidence: without it, the command line and cwd must do
                env = proc.environ()
            except (psutil.AccessDenied, NotImplementedError, AttributeError):
                env = {}
            try:
                exe = proc.exe()
            except psutil.AccessDenied:
                exe = ""
    except psutil.NoSuchProcess:  # exited (or became a zombie) meanwhile
        return stale
    except (psutil.Error, OSError) as exc:
        return Foreign("unknown", f"cannot inspect pid {pid} ({exc}); not touched", pid)
    if pid in _ancestry():
        return Foreign(
            "self",
            f"the server (pid {pid}) is running this upgrade; it was not stopped: "
            f"when the upgrade is done, {IDE_RELOAD}",
            pid,
        )
    runs = _runs_server(target, info, argv, cwd, env, exe)
    belongs = _belongs(target, argv, cwd, env) if runs else None
    if runs is None or belongs is None:
        if runs is not None:
            why = f"runs {SERVER_MODULE} for another project"
        elif python_module(argv) == SERVER_MODULE:
            why = f"runs {SERVER_MODULE}, but not on this install's venv interpreter"
        else:
            why = "is another program"
        shown = " ".join(argv)[:200]
        return Foreign(
            "foreign", f"pid {pid} from the state file {why} ({shown!r}); left alone", pid
        )
    if created > written + CLOCK_SLACK:
        return Foreign(
            "foreign",
            f"pid {pid} from the state file was started at {_clock(created)}, after the file was "
            f"written ({_clock(written)}): the pid now belongs to another process; left alone",
            pid,
        )
    return ServerProcess(
        pid, info, argv, cwd, env, created, ppid, f"{runs}; {belongs}", target, proc
    )


def _still_the_server(proc: ServerProcess) -> Any:
    """The psutil process when pid still is the verified server (same creation time and command
    line, not exited); None otherwise."""
    try:
        handle = proc.handle if proc.handle is not None else psutil.Process(proc.pid)
        # a fresh lookup recomputes the creation time from the boot time, which can move a little
        same_time = abs(handle.create_time() - proc.create_time) <= (
            0 if proc.handle is not None else CLOCK_SLACK
        )
        if same_time and not _gone(handle) and handle.cmdline() == proc.argv:
            return handle
    except psutil.Error:
        pass
    return None


def _family(server: Any) -> list[Any]:
    """The server and its descendants, read before any is signalled (they are re-parented once
    the server exits); never this process or its ancestors."""
    try:
        children = server.children(recursive=True)
    except psutil.Error:
        children = []
    ours = _ancestry()
    return [server, *(c for c in children if c.pid not in ours)]


def _send(procs: list[Any], kill: bool) -> list[Any]:
    """terminate() (or kill()) each process that still runs; those that got it."""
    sent = []
    for p in procs:
        if _gone(p):
            continue
        try:
            p.kill() if kill else p.terminate()  # psutil refuses a pid reused since
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            continue
        sent.append(p)
    return sent


def _wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait up to timeout for procs to exit; those still running.

    Polls instead of ``psutil.wait_procs``, which reaps a process that is our child (a server
    this upgrade restarted, or the caller's in tests) and so steals its exit status.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in procs if not _gone(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(POLL)


def stop_server(proc: ServerProcess, *, timeout: float = 5) -> StopOutcome:
    """Terminate the verified server and its children, wait up to `timeout`, then kill what is
    left; by pid only, after checking again that the pid is still that server.

    ``signals`` names what the server itself was sent (``SIGTERM``, then ``SIGKILL``: on Windows
    both are ``TerminateProcess``); it is empty when the pid no longer is the server.
    """
    started, sent = time.monotonic(), []
    server = _still_the_server(proc)
    if server is None:
        if alive(proc.pid):
            msg = f"pid {proc.pid} is no longer the server (recycled by another process); "
            msg += "not signalled"
            return StopOutcome(proc.pid, False, [], time.monotonic() - started, msg)
        msg = f"stopped server pid {proc.pid} (it had already exited)"
        return StopOutcome(proc.pid, True, [], time.monotonic() - started, msg)
    family = left = _family(server)
    for label, kill, wait in (("SIGTERM", False, timeout), ("SIGKILL", True, 3.0)):
        if kill and server in left and _still_the_server(proc) is None:
            left = [p for p in left if p is not server]  # it became another program: spare it
        if server in _send(left, kill):
            sent.append(label)
        left = _wait_gone(family, wait)
        if not left:
            break
    gone = server not in left
    if gone and "SIGKILL" in sent:
        with contextlib.suppress(OSError, ValueError):
            state = ServerInfo.read(proc.target)
            if state is not None and state.pid == proc.pid:  # a killed server cannot clean up
                (proc.target / STATE_FILE).unlink()
    if gone:
        msg = f"stopped server pid {proc.pid} ({', '.join(sent) or 'it had already exited'})"
    elif sent:
        msg = f"server pid {proc.pid} survived {', '.join(sent)}; stop it by hand"
    else:
        msg = f"server pid {proc.pid} could not be signalled (access denied); stop it by hand"
    if [p for p in left if p is not server]:
        pids = ", ".join(str(p.pid) for p in left if p is not server)
        msg += f"; its child process(es) {pids} survived: stop them by hand"
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
