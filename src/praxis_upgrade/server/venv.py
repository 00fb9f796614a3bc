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

Packages the user added to the venv by hand (everything the old requirements do not pull in)
are carried into the new venv at the same versions, file by file from their ``RECORD`` (offline,
hard links); one that cannot be carried is named in ``EnvChange.not_carried`` with the command
that reinstalls it.

When the upgrade is final the old venv is not deleted but moved into the upgrade's backup
(``keep_previous``, one rename), so a later manual rollback swaps it back (``restore_environment``
with ``kept=``): offline and exactly the previous set. Without a kept venv the previous set is
reinstalled from the package sources the upgrade used.

Trade-offs: the server must be stopped while ``venv/`` is rebuilt (phase 3 stops it first); a
kept venv costs its disk space until its backup is pruned. The alternative, clone-and-swap (copy
the venv, install in place), copies gigabytes on every upgrade and rollback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from praxis_upgrade.errors import PraxisError, RollbackError, StepFailed, TargetError
from praxis_upgrade.server.postinstall import (
    Progress,
    StepOutcome,
    bin_dir,
    installer_milestone,
    post_install_steps,
    run_post_install,
    run_streamed,
)
from praxis_upgrade.server.requirements import (
    parse_requirement,
    requirement_lines,
    requirement_names,
    requirements_satisfied,
)
from praxis_upgrade.store import Store
from praxis_upgrade.util.fs import atomic_write_text
from praxis_upgrade.util.lazy import lazy_module

if TYPE_CHECKING:
    from packaging import requirements as pep508
    from packaging import utils as pkg_utils
else:  # heavy: loaded on first use, not at start-up (a dry run never uses it)
    pep508 = lazy_module("packaging.requirements")
    pkg_utils = lazy_module("packaging.utils")

TRASH = "venv.praxis-trash"
SEED = {"pip", "setuptools", "wheel"}


@dataclasses.dataclass
class EnvChange:
    """What ``install_requirements`` did, enough to restore or discard it later.

    ``before``/``after`` are the package sets (``name==version``); ``dropped`` lists packages
    the old venv had that the new one has not (upstream's old dependencies, and hand-installed
    packages that could not be carried). ``carried`` are the hand-installed packages moved into
    the new venv; ``not_carried`` maps the others to why; ``carry_problems`` are what a dependency
    check says about the carried ones. An empty record (``EnvChange()``) means "unknown": restore
    then only puts a kept-aside venv back.
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
    carried: list[str] = dataclasses.field(default_factory=list)
    not_carried: dict[str, str] = dataclasses.field(default_factory=dict)
    carry_problems: list[str] = dataclasses.field(default_factory=list)

    def reinstall_command(self) -> str:
        """The command that puts the packages which were not carried back, or ""."""
        if not self.not_carried:
            return ""
        return _install_command(Path(self.venv), self.tool, sorted(self.not_carried))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvChange:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


def _install_command(venv: Path, tool: str, args: Sequence[str]) -> str:
    """The shell command that installs `args` into `venv` with the tool that built it."""
    python = shlex.quote(str(_python_in(venv)))
    quoted = " ".join(shlex.quote(a) for a in args)
    if tool == "uv":
        return f"uv pip install --python {python} {quoted}"
    return f"{python} -m pip install {quoted}"


def _python_in(venv: Path) -> Path:
    return bin_dir(venv) / ("python.exe" if os.name == "nt" else "python")


def venv_python(target: Path) -> Path:
    """The interpreter of ``<target>/venv``, checked to actually run.

    Raises:
        TargetError: the venv is missing, its interpreter cannot be reached (a folder on the way
            is closed to this user) or does not start.
    """
    python = _python_in(Store(target).venv)
    hint = (
        f"recreate it: python3 -m venv {target / 'venv'} && {python} -m pip install -r "
        f"{target / 'mcp_server' / 'requirements.txt'}"
    )
    try:
        os.stat(python)
    except (FileNotFoundError, NotADirectoryError):
        raise TargetError(f"the server's venv has no interpreter at {python}", hint=hint) from None
    except OSError as exc:  # EACCES: a folder on the way cannot be searched by this user
        folders = " ".join(shlex.quote(str(p)) for p in (python.parent.parent, python.parent))
        raise TargetError(
            f"the server's venv interpreter {python} cannot be reached: "
            f"{(exc.strerror or str(exc)).lower()}",
            hint=f"open its folders to your user again (chmod u+rx {folders}), "
            "or run praxis-upgrade as the user who owns the install",
        ) from None
    try:
        subprocess.run(
            # it starts (its base interpreter, libraries and encodings are there); `-S`: the
            # site-packages are the installer's business, and importing them costs a start-up
            [str(python), "-S", "-c", ""],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except PermissionError as exc:  # not executable for this user (or a noexec mount)
        raise TargetError(
            f"the server's venv interpreter {python} cannot be run: "
            f"{(exc.strerror or str(exc)).lower()}",
            hint=f"run praxis-upgrade as the user who owns the install, or {hint}",
        ) from None
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
    """Whether phase 3 must (re)install: the fingerprint changed, or the venv does not satisfy
    the requirements (no baseline yet, or a package removed or changed by hand since)."""
    python = venv_python(target)
    if baseline_fingerprint and requirements_fingerprint(target, python) != baseline_fingerprint:
        return True
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


def _listed(venv: Path) -> list[str]:
    """``name==version`` of every distribution in a venv we just built, read from its
    site-packages in this process (no second installer run: the old venv's exact pins, which
    only a real freeze gives, are taken before the build)."""
    site = _site_packages(venv)
    if site is None:
        return _freeze_venv(venv)
    return sorted({f"{d.metadata['Name']}=={d.version}" for d in _distributions(site).values()})


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
        found.setdefault(pkg_utils.canonicalize_name(dist.name or ""), dist)
    return found


def _record_pairs(
    dist: importlib.metadata.Distribution, old_sp: Path, prev: Path, live: Path
) -> tuple[list[tuple[Path, Path]], str]:
    """(old file, new path) for every file `dist`'s RECORD lists, or why it cannot be carried."""
    if dist.read_text("RECORD") is None:
        return [], "installed without a RECORD (e.g. `setup.py develop`), so its files are unknown"
    pairs = []
    for file in dist.files or []:
        src = Path(os.path.normpath(old_sp / file))
        if "__pycache__" in src.parts:
            continue
        if not str(src).startswith(str(prev) + os.sep):
            return [], f"it has files outside the venv ({src})"
        if not src.is_file():
            continue  # listed but gone already: the old venv did not have it either
        dst = live / src.relative_to(prev)
        if dst.exists() and not _same_bytes(src, dst):
            return [], f"its file {dst.relative_to(live)} is also a file of the new packages"
        pairs.append((src, dst))
    return pairs, ""


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _carry(prev: Path, live: Path, names: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Link the files of the distributions `names`, from their RECORD, from the old venv into the
    new one; returns (carried ``name==version``, {``name==version``: why not carried}).

    Both venvs have the same path and interpreter, so scripts and files are valid as they are;
    this needs no network and keeps the exact versions the user had. A distribution is carried
    whole or not at all.
    """
    old_sp, new_sp = _site_packages(prev), _site_packages(live)
    if old_sp is None or new_sp is None:
        return [], {}
    olds = _distributions(old_sp)
    carried: list[str] = []
    refused: dict[str, str] = {}
    for name in sorted(names):
        dist = olds[name]
        label = f"{dist.name}=={dist.version}"
        pairs, why = _record_pairs(dist, old_sp, prev, live)
        if why:
            refused[label] = why
            continue
        for src, dst in pairs:
            if dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)  # same filesystem; installers replace files, never edit them
            except OSError:
                shutil.copy2(src, dst)
        carried.append(label)
    return carried, refused


def _closure(dists: dict[str, importlib.metadata.Distribution], lines: Iterable[str]) -> set[str]:
    """Names of the distributions that requirement `lines` pull in, following ``Requires-Dist``
    (with the extras asked for) through `dists`."""
    wanted = [
        (pkg_utils.canonicalize_name(req.name), frozenset(req.extras))
        for req in map(parse_requirement, lines)
        if req is not None
    ]
    seen: dict[str, set[str]] = {}
    while wanted:
        name, extras = wanted.pop()
        if name not in dists or (name in seen and extras <= seen[name]):
            continue
        seen.setdefault(name, set()).update(extras)
        for spec in dists[name].requires or []:
            try:
                dep = pep508.Requirement(spec)
            except pep508.InvalidRequirement:
                continue
            if dep.marker is not None and not _marker_holds(dep, seen[name]):
                continue
            wanted.append((pkg_utils.canonicalize_name(dep.name), frozenset(dep.extras)))
    return set(seen)


def _marker_holds(dep: pep508.Requirement, extras: set[str]) -> bool:
    """Whether `dep`'s marker holds for one of `extras` (or none); True when it cannot tell, so
    an upstream dependency is never taken for the user's own package."""
    assert dep.marker is not None
    try:
        return any(dep.marker.evaluate({"extra": e}) for e in [*extras, ""])
    except Exception:  # an unknown marker variable: count it in
        return True


def _hand_installed(prev: Path, live: Path, old_requirements: str) -> set[str]:
    """Distributions of the old venv that its requirements did not pull in (the user's own) and
    that the new venv does not have."""
    old_sp, new_sp = _site_packages(prev), _site_packages(live)
    if old_sp is None or new_sp is None:
        return set()
    olds, news = _distributions(old_sp), _distributions(new_sp)
    pulled = _closure(olds, requirement_lines(old_requirements))
    return {n for n in olds if n not in pulled | SEED and n not in news}


def _check(live: Path, uv: str | None, names: Iterable[str]) -> list[str]:
    """What the installer's dependency check says about the packages `names` (``[]``: fine)."""
    python = str(_python_in(live))
    site = _site_packages(live)
    if uv:
        cmd = [uv, "pip", "check", "--python", python]
    elif site is not None and "pip" in _distributions(site):
        cmd = [python, "-m", "pip", "check", "--disable-pip-version-check"]
    else:
        return []
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names) or r"(?!)", re.IGNORECASE)
    lines = (out.stdout + out.stderr).splitlines()
    return [line.strip() for line in lines if pattern.search(line.replace("_", "-"))]


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
    *,
    find_links: Sequence[str | Path],
    no_index: bool,
    uv: str | None,
    progress: Progress | None,
    timeout: float,
    old_requirements: str | None = None,
) -> EnvChange:
    """Move ``venv/`` aside and build a fresh one with `req`; undone on any failure.

    With `old_requirements` (the text the old venv was built from), the packages the user added
    by hand are carried over; without, the new venv holds exactly what `req` pins.
    """
    live, prev = Store(target).venv, Store(target).previous_venv
    base, system_site = _base_python(live), _system_site(live)
    change = EnvChange(
        venv=str(live),
        previous=str(prev),
        tool="uv" if uv else "pip",
        base_python=base,
        before=_freeze_venv(live),
        find_links=[str(d) for d in find_links],
        no_index=no_index,
    )
    os.rename(live, prev)
    try:
        python = str(_python_in(live))
        opts = [a for d in find_links for a in ("--find-links", str(d))] + (
            ["--no-index"] if no_index else []
        )
        for cmd in _build(live, base, system_site, uv):
            _step(cmd, progress, timeout, req)
        _carry(prev, live, SEED & set(_distributions(_site_packages(prev) or prev)))
        if uv:
            install = [uv, "pip", "install", "--python", python, "-r", str(req), *opts]
        else:
            new_site = _site_packages(live)
            if new_site is None or "pip" not in _distributions(new_site):
                _step([python, "-m", "ensurepip", "--default-pip"], progress, timeout, req)
            install = [python, "-m", "pip", "install", "--disable-pip-version-check"]
            install += ["-r", str(req), *opts]
        _step(install, progress, timeout, req)
        if old_requirements is not None:
            _carry_hand_installed(change, prev, live, old_requirements, uv, progress)
        change.after = _listed(live)
        return change
    except BaseException:
        _put_back(target)
        raise


def _carry_hand_installed(
    change: EnvChange,
    prev: Path,
    live: Path,
    old_requirements: str,
    uv: str | None,
    progress: Progress | None,
) -> None:
    hand = _hand_installed(prev, live, old_requirements)
    if not hand:
        return
    if progress is not None:
        progress(
            f"carrying {len(hand)} package(s) you installed by hand: {', '.join(sorted(hand))}"
        )
    change.carried, change.not_carried = _carry(prev, live, hand)
    if change.carried:
        names = [pkg_utils.canonicalize_name(c.split("==")[0]) for c in change.carried]
        change.carry_problems = _check(live, uv, names)


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
    old_requirements: str | None = None,
) -> EnvChange:
    """Build a fresh ``venv/`` with ``mcp_server/requirements.txt``, keeping the old one aside.

    `old_requirements` is the requirements text the old venv was built from (default: the
    current file); whatever the old venv had beyond it is the user's and is carried over.

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
    change = _rebuild(
        target,
        req,
        find_links=find_links,
        no_index=no_index,
        uv=_installer(use_uv),
        progress=progress,
        timeout=timeout,
        old_requirements=(
            req.read_text(encoding="utf-8") if old_requirements is None else old_requirements
        ),
    )
    kept = {pkg_utils.canonicalize_name(line.split("==")[0]) for line in change.after}
    change.dropped = sorted(
        line
        for line in change.before
        if pkg_utils.canonicalize_name(line.split("==")[0]) not in kept | SEED
    )
    change.seconds = time.monotonic() - started
    return change


def restore_environment(
    target: Path,
    change: EnvChange,
    *,
    kept: Path | None = None,
    progress: Progress | None = None,
    timeout: float = 3600,
) -> str:
    """Give the venv back exactly the package set it had before ``change`` (idempotent); returns
    how, in words.

    While the upgrade is open the previous venv is beside it: one rename. After the upgrade was
    final its venv may be `kept` in the backup: one rename too, offline. Otherwise the exact
    previous versions are reinstalled into a fresh venv, from the package sources the upgrade
    used.

    Raises:
        RollbackError: the previous package set could not be rebuilt; the venv is left as it was.
    """
    how = "the venv already had the previous packages"
    if Store(target).previous_venv.exists():
        _put_back(target)
        how = "the previous venv was put back (a rename)"
    elif kept is not None and kept.is_dir():
        _swap_in(target, kept)
        how = "the previous venv kept with the backup was put back (a rename, offline)"
    if not change.before or sorted(_freeze_venv(Store(target).venv)) == sorted(change.before):
        return how
    pins = Store(target).venv_restore_pins
    atomic_write_text(
        pins,
        "".join(f"{line}\n" for line in change.before if line.split("==")[0].lower() not in SEED),
    )
    if progress is not None:
        progress(f"rebuilding the venv with the {len(change.before)} packages it had before")
    try:
        _rebuild(
            target,
            pins,
            find_links=change.find_links,
            no_index=change.no_index,
            uv=_installer(True if change.tool == "uv" and uv_binary() else False),
            progress=progress,
            timeout=timeout,
        )
    except PraxisError as exc:
        names = [line for line in change.before if line.split("==")[0].lower() not in SEED]
        listed = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        command = _install_command(Store(target).venv, change.tool, ["-r", str(pins)])
        raise RollbackError(
            f"the previous venv was not kept and rebuilding it failed: {exc.message}",
            hint=f"reinstall the previous packages ({listed}) by hand: {command}",
        ) from exc
    _remove(Store(target).previous_venv, target)
    return "the previous packages were reinstalled into a fresh venv"


def _swap_in(target: Path, kept: Path) -> None:
    """Put a venv kept elsewhere in the install in place of ``venv/`` (renames only)."""
    live = Store(target).venv
    if live.exists() or live.is_symlink():
        os.rename(live, target / f"{TRASH}-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(kept, live)
    for leftover in target.glob(f"{TRASH}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def keep_previous(target: Path, dest: Path) -> bool:
    """Move the kept-aside previous venv to `dest` (one rename, same install) instead of deleting
    it, so a later rollback can put it back offline; False when there was none."""
    prev = Store(target).previous_venv
    if not prev.is_dir():
        return False
    if dest.exists():
        shutil.rmtree(dest)
    os.rename(prev, dest)
    return True


def set_aside_leftover(target: Path) -> Path:
    """Rename a ``venv.praxis-prev`` that no open upgrade owns out of the way (kept, never
    deleted: it may be the only copy of someone's packages); returns where it went."""
    prev = Store(target).previous_venv
    aside = target / f"venv.praxis-leftover-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    os.rename(prev, aside)
    return aside


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
    "keep_previous",
    "post_install_steps",
    "run_post_install",
    "uv_binary",
    "requirement_lines",
    "requirement_names",
    "bin_dir",
    "installer_milestone",
    "run_streamed",
]
