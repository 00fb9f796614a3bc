"""The server's Python environment (``.praxis-os/venv``): fingerprint, install, exact rollback.

Method: *rename aside, build fresh in place*. ``venv/`` is renamed to ``venv.praxis-prev/`` (one
``rename``, same directory) and a new venv is built at ``venv/`` from the same base interpreter,
with the project's requirements installed by that venv's own interpreter (uv when available,
else its own pip) — never a ``pip`` found on PATH. The new venv lives at its final path, so
console-script shebangs and ``activate`` are right without rewriting. Rollback renames the old
venv back: O(1), offline, and exactly the previous package set (it *is* the previous venv).
A failed install is undone before the error is raised; a crash mid-install leaves
``venv.praxis-prev/`` behind, which ``restore_environment`` (idempotent) or the next
``install_requirements`` puts back.

Trade-offs: the server must be stopped while ``venv/`` is rebuilt (phase 3 stops it first); the
old venv costs its disk space until ``discard_previous``; packages a user added to the venv by
hand are not carried over — they are listed in ``EnvChange.dropped``. The alternative,
clone-and-swap (copy the venv, install in place), keeps such extras but copies gigabytes on
every upgrade and rollback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from praxis_upgrade.errors import PraxisError, RollbackError, StepFailed, TargetError
from praxis_upgrade.server.postinstall import (
    Progress,
    StepOutcome,
    bin_dir,
    post_install_steps,
    run_post_install,
    run_streamed,
)
from praxis_upgrade.server.requirements import (
    requirement_lines,
    requirement_names,
    requirements_satisfied,
)
from praxis_upgrade.store import Store
from praxis_upgrade.util.fs import atomic_write_text

TRASH = "venv.praxis-trash"
SEED = {"pip", "setuptools", "wheel"}


@dataclasses.dataclass
class EnvChange:
    """What ``install_requirements`` did, enough to restore or discard it later.

    ``before``/``after`` are the package sets (``name==version``); ``dropped`` lists packages
    the old venv had beyond the requirements, which the new one does not carry over. An empty
    record (``EnvChange()``) means "unknown": restore then only puts a kept-aside venv back.
    """

    venv: str = ""
    previous: str = ""
    tool: str = ""
    base_python: str = ""
    before: list[str] = dataclasses.field(default_factory=list)
    after: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    method: str = "rename-swap"
    find_links: list[str] = dataclasses.field(default_factory=list)
    no_index: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvChange:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


def _python_in(venv: Path) -> Path:
    return bin_dir(venv) / ("python.exe" if os.name == "nt" else "python")


def venv_python(target: Path) -> Path:
    """The interpreter of ``<target>/venv``, checked to actually run.

    Raises:
        TargetError: the venv is missing or its interpreter does not start.
    """
    python = _python_in(Store(target).venv)
    hint = (
        f"recreate it: python3 -m venv {target / 'venv'} && {python} -m pip install -r "
        f"{target / 'mcp_server' / 'requirements.txt'}"
    )
    if not python.exists():
        raise TargetError(f"the server's venv has no interpreter at {python}", hint=hint)
    try:
        subprocess.run(
            [str(python), "-c", "import sys"], check=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise TargetError(
            f"the server's venv interpreter {python} does not run ({exc})", hint=hint
        ) from exc
    return python


def requirements_fingerprint(target: Path, interpreter: Path) -> str:
    """sha256 over ``mcp_server/requirements.txt`` and the interpreter's exact version."""
    req = target / "mcp_server" / "requirements.txt"
    data = req.read_bytes() if req.exists() else b""
    version = subprocess.run(
        [str(interpreter), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    return hashlib.sha256(data + b"\0" + version.encode()).hexdigest()


def needs_install(target: Path, baseline_fingerprint: str | None) -> bool:
    """Whether phase 3 must (re)install: the fingerprint changed, or (no baseline) unmet
    requirements."""
    python = venv_python(target)
    if baseline_fingerprint:
        return requirements_fingerprint(target, python) != baseline_fingerprint
    return not requirements_satisfied(python, target / "mcp_server" / "requirements.txt")


def uv_binary() -> str | None:
    """A usable ``uv`` executable (on PATH or from the ``uv`` Python package), or None."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv  # optional: the `uv` wheel ships the binary when it is installed

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return None


_LIST = (
    "import importlib.metadata as m\n"
    "for d in m.distributions():\n"
    "    print(f\"{d.metadata['Name']}=={d.version}\")\n"
)


def _freeze_venv(venv: Path) -> list[str]:
    """``name==version`` lines: ``uv pip freeze --python``, else the venv's pip, else its
    importlib."""
    python = str(_python_in(venv))
    uv = uv_binary()
    cmds = [[uv, "pip", "freeze", "--python", python]] if uv else []
    cmds += [[python, "-m", "pip", "freeze", "--all"], [python, "-c", _LIST]]
    out = None
    for cmd in cmds:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode == 0:
            return sorted({line.strip() for line in out.stdout.splitlines() if line.strip()})
    detail = out.stderr.strip()[-500:] if out else ""
    raise TargetError(
        f"cannot list the packages of {venv}: {detail}",
        hint="check that the venv's interpreter runs",
    )


def freeze(target: Path) -> list[str]:
    """The venv's installed packages (``name==version`` lines, sorted), read through its own
    interpreter."""
    return _freeze_venv(Store(target).venv)


def _base_python(venv: Path) -> str:
    out = subprocess.run(
        [str(_python_in(venv)), "-c", "import sys; print(sys._base_executable)"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    base = out.stdout.strip()
    if out.returncode == 0 and base and Path(base).exists():
        return base
    raise TargetError(
        f"cannot find the base interpreter of {venv}",
        hint="recreate the venv with the Python you want the server to use",
    )


def _system_site(venv: Path) -> bool:
    cfg = venv / "pyvenv.cfg"
    text = cfg.read_text(encoding="utf-8", errors="replace") if cfg.exists() else ""
    return bool(re.search(r"^include-system-site-packages\s*=\s*true", text, re.M | re.I))


def _remove(path: Path, target: Path) -> None:
    """Delete a venv directory: rename it to a trash name first, so a crash leaves no half-venv."""
    if not path.exists() and not path.is_symlink():
        return
    trash = target / f"{TRASH}-{os.getpid()}-{time.monotonic_ns()}"
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _put_back(target: Path) -> None:
    """Rename the kept venv back into place (two renames), then delete the one it replaces."""
    prev, live = Store(target).previous_venv, Store(target).venv
    if prev.exists():
        if live.exists() or live.is_symlink():
            os.rename(live, target / f"{TRASH}-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(prev, live)
    for leftover in target.glob(f"{TRASH}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _site_packages(venv: Path) -> Path | None:
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(
        venv.glob("Lib/site-packages")
    )
    return found[-1] if found else None


def _distributions(site: Path) -> dict[str, importlib.metadata.Distribution]:
    """A site-packages directory's distributions by normalised name (its interpreter not run)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        found.setdefault(canonicalize_name(dist.name or ""), dist)
    return found


def _carry_seed(prev: Path, live: Path) -> None:
    """Link pip/setuptools/wheel, file by file from their RECORD, from the old venv into the new
    one.

    Both venvs have the same path and interpreter, so scripts and files are valid as they are;
    this spares ``ensurepip`` (seconds) and keeps the exact tool versions the user had.
    """
    old_sp, new_sp = _site_packages(prev), _site_packages(live)
    if old_sp is None or new_sp is None:
        return
    for name, dist in _distributions(old_sp).items():
        if name not in SEED or dist.read_text("RECORD") is None:
            continue
        for file in dist.files or []:
            src = Path(os.path.normpath(old_sp / file))
            if not src.is_file() or "__pycache__" in src.parts:
                continue
            dst = Path(os.path.normpath(new_sp / file))
            if not str(dst).startswith(str(live) + os.sep) or dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(
                    src, dst
                )  # same filesystem; installers replace files, never edit them in place
            except OSError:
                shutil.copy2(src, dst)


def _build(live: Path, base: str, system_site: bool, uv: str | None) -> list[list[str]]:
    """Commands that make a fresh, empty venv at `live` from the same base interpreter."""
    site = ["--system-site-packages"] if system_site else []
    if uv:
        return [[uv, "venv", "--quiet", "--python", base, *site, str(live)]]
    return [[base, "-m", "venv", "--without-pip", *site, str(live)]]


def _step(cmd: list[str], progress: Progress | None, timeout: float, req: Path) -> None:
    code, output = run_streamed(cmd, progress, timeout=timeout)
    if code != 0:
        raise StepFailed(
            f"installing the server requirements failed (exit {code}): "
            f"{' '.join(cmd[:4])} ...\n{output[-2000:]}",
            hint=f"the previous venv was put back unchanged; check {req} and your package index",
        )


def _rebuild(
    target: Path,
    req: Path,
    find_links: Sequence[str | Path],
    no_index: bool,
    uv: str | None,
    progress: Progress | None,
    timeout: float,
) -> tuple[str, list[str], list[str]]:
    """Move ``venv/`` aside and build a fresh one with `req`; undone on any failure."""
    live, prev = Store(target).venv, Store(target).previous_venv
    base, system_site = _base_python(live), _system_site(live)
    before = _freeze_venv(live)
    os.rename(live, prev)
    try:
        python = str(_python_in(live))
        opts = [a for d in find_links for a in ("--find-links", str(d))] + (
            ["--no-index"] if no_index else []
        )
        for cmd in _build(live, base, system_site, uv):
            _step(cmd, progress, timeout, req)
        _carry_seed(prev, live)
        if uv:
            _step(
                [uv, "pip", "install", "--python", python, "-r", str(req), *opts],
                progress,
                timeout,
                req,
            )
        else:
            new_site = _site_packages(live)
            if new_site is None or "pip" not in _distributions(new_site):
                _step([python, "-m", "ensurepip", "--default-pip"], progress, timeout, req)
            _step(
                [
                    python,
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-r",
                    str(req),
                    *opts,
                ],
                progress,
                timeout,
                req,
            )
        return base, before, _freeze_venv(live)
    except BaseException:
        _put_back(target)
        raise


def _installer(use_uv: bool | None) -> str | None:
    uv = uv_binary() if use_uv is not False else None
    if use_uv and not uv:
        raise TargetError(
            "uv was requested but is not installed", hint="pip install uv, or drop --uv"
        )
    return uv


def install_requirements(
    target: Path,
    *,
    find_links: Sequence[Path] = (),
    no_index: bool = False,
    use_uv: bool | None = None,
    progress: Progress | None = None,
    timeout: float = 3600,
) -> EnvChange:
    """Build a fresh ``venv/`` with ``mcp_server/requirements.txt``, keeping the old one aside.

    Raises:
        TargetError: the venv or requirements file is missing/broken (nothing was changed).
        StepFailed: the install failed; the previous venv is already back in place.
    """
    started = time.monotonic()
    _put_back(target)  # an interrupted earlier attempt: start from the real previous venv
    req = target / "mcp_server" / "requirements.txt"
    if not req.exists():
        raise TargetError(f"{req} is missing", hint="restore the server code, then run again")
    venv_python(target)
    uv = _installer(use_uv)
    base, before, after = _rebuild(target, req, find_links, no_index, uv, progress, timeout)
    kept = {line.split("==")[0].lower() for line in after}
    dropped = sorted(line for line in before if line.split("==")[0].lower() not in kept | SEED)
    return EnvChange(
        venv=str(Store(target).venv),
        previous=str(Store(target).previous_venv),
        tool="uv" if uv else "pip",
        base_python=base,
        before=before,
        after=after,
        dropped=dropped,
        seconds=time.monotonic() - started,
        find_links=[str(d) for d in find_links],
        no_index=no_index,
    )


def restore_environment(
    target: Path, change: EnvChange, *, progress: Progress | None = None, timeout: float = 3600
) -> None:
    """Give the venv back exactly the package set it had before ``change`` (idempotent).

    Normally one rename (the previous venv was kept aside). After ``discard_previous`` (a
    finished upgrade rolled back later) the exact previous versions are reinstalled into a
    fresh venv, from the same package sources the upgrade used.

    Raises:
        RollbackError: the previous package set could not be rebuilt; the venv is left as it was.
    """
    _put_back(target)
    if not change.before or sorted(_freeze_venv(Store(target).venv)) == sorted(change.before):
        return
    pins = Store(target).venv_restore_pins
    atomic_write_text(
        pins,
        "".join(f"{line}\n" for line in change.before if line.split("==")[0].lower() not in SEED),
    )
    try:
        _rebuild(
            target,
            pins,
            change.find_links,
            change.no_index,
            _installer(True if change.tool == "uv" and uv_binary() else False),
            progress,
            timeout,
        )
    except PraxisError as exc:
        raise RollbackError(
            f"the previous venv was already discarded and rebuilding it failed: {exc.message}",
            hint=f"reinstall these packages into {target / 'venv'} by hand: "
            f"{', '.join(change.before)}",
        ) from exc
    _remove(Store(target).previous_venv, target)


def discard_previous(target: Path) -> None:
    """Delete the kept-aside previous venv once the upgrade is final (idempotent)."""
    _remove(Store(target).previous_venv, target)
    for leftover in target.glob(f"{TRASH}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


__all__ = [
    "EnvChange",
    "StepOutcome",
    "venv_python",
    "requirements_fingerprint",
    "needs_install",
    "freeze",
    "install_requirements",
    "restore_environment",
    "discard_previous",
    "post_install_steps",
    "run_post_install",
    "uv_binary",
    "requirement_lines",
    "requirement_names",
    "bin_dir",
    "run_streamed",
]
