"""The git hooks of a praxis-os clone: install beside hook managers, check, uninstall, run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from praxis_upgrade import store
from praxis_upgrade.engine import registry
from praxis_upgrade.errors import SourceError, StateError, TargetError, UserError
from praxis_upgrade.integrations import spawn
from praxis_upgrade.util import fs

HOOK = "post-merge"
EVENTS = ("post-merge", "post-rewrite")  # `git pull` merges, `git pull --rebase` rewrites
ID_LINE = "# praxis-upgrade post-merge hook"  # in the runner script (and in older installs)
PRIVATE = "praxis-upgrade"  # our folder in the clone's git dir: runners and what we installed
STATE = "installed.json"
STATE_FORMAT = 1
WATCHED = ("universal", "mcp_server", "scripts")
COMMAND_ENV = "PRAXIS_UPGRADE_HOOK_COMMAND"  # test-only: replaces the `run` command in auto mode
KEEP_GIT_ENV = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_ASKPASS",
    }
)

# How our hook reaches git. A manager's own extension point when it runs that hook, else a
# marked block in the hook script that is there, else a hook script of our own.
HOOK_FILE, CHAINED, PRE_COMMIT, HUSKY, LEFTHOOK = (
    "hook-file",
    "chained",
    "pre-commit",
    "husky",
    "lefthook",
)
# pre-commit recognises its hook scripts by one of these ids (pre_commit/commands/install_uninstall)
PRE_COMMIT_IDS = (
    "138fd403232d2ddd5efb44317e38bf03",
    "4d9958c90bc262f47553e2c073f14cfe",
    "d8ee923c46731b42cd95cc869add4062",
    "49fd668cb42069aa1b6048464be5d395",
    "79f09a650522a87b0da915d0d983b2de",
    "e358c9dae00eac5d06b38dfdb1e33a8c",
)
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})
# where pre-commit and lefthook put a hook that was there before them
MOVED_ASIDE = (".legacy", ".old")

REWRITE_RUNNER = """\
#!/bin/sh
# praxis-upgrade post-rewrite hook: `git pull --rebase` with local commits runs this, not
# post-merge. Only a rebase counts (not `git commit --amend`); then the post-merge check runs.
# Installed by `praxis-upgrade hook install`; removed by `praxis-upgrade hook uninstall`.
case "${1:-${PRE_COMMIT_REWRITE_COMMAND:-}}" in
    rebase) exec "$(dirname "$0")/post-merge" </dev/null ;;
esac
exit 0
"""


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` without the GIT_* variables that tie git commands to the repo running the hook."""
    env = dict(os.environ if env is None else env)
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("GIT_")
        or k in KEEP_GIT_ENV
        or k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))
    }


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def source_root(path: Path) -> Path:
    """The top of the praxis-os clone containing `path`.

    Raises:
        SourceError: `path` is not inside a git work tree with universal/ or mcp_server/.
    """
    result = _git(path, "rev-parse", "--show-toplevel") if path.is_dir() else None
    if result is None or result.returncode != 0:
        raise SourceError(
            f"{path} is not a git clone", hint="pass --source PATH of your praxis-os clone"
        )
    root = Path(result.stdout.strip())
    if not any((root / d).is_dir() for d in ("universal", "mcp_server")):
        raise SourceError(
            f"{root} does not look like praxis-os (no universal/ or mcp_server/)",
            hint="pass --source PATH of your praxis-os clone",
        )
    return root


def project_root(path: Path) -> Path:
    """The project dir for a project path or its `.praxis-os` dir.

    Raises:
        TargetError: there is no `.praxis-os/` install there.
    """
    path = Path(registry.key(path))
    project = path.parent if path.name == ".praxis-os" else path
    if not (project / ".praxis-os").is_dir():
        raise TargetError(
            f"{project} has no .praxis-os/ install",
            hint="pass --project PATH of a project where prAxIs OS is installed",
        )
    return project


def _git_path(root: Path, *args: str) -> Path:
    result = _git(root, "rev-parse", *args)
    if result.returncode != 0:
        raise SourceError(f"git cannot read {root}: {result.stderr.strip()}")
    return (root / result.stdout.strip()).resolve()


def hooks_dir(source: Path) -> Path:
    """The directory git runs this clone's hooks from (honours `core.hooksPath`)."""
    return _git_path(source, "--git-path", "hooks")


def private_dir(source: Path) -> Path:
    """Our folder in the clone's git dir: no hook manager reads or rewrites it."""
    return _git_path(source, "--git-common-dir") / PRIVATE


def hooks_path_scope(source: Path) -> tuple[str, str] | None:
    """(scope, value) of the `core.hooksPath` git uses for this clone, or None when unset."""
    out = _git(source, "config", "--show-scope", "--get", "core.hooksPath").stdout.strip()
    scope, _, value = out.partition("\t")
    return (scope, value) if out else None


def render(python: str) -> str:
    """The runner script with `python` (the interpreter praxis-upgrade runs under) filled in."""
    template = (
        resources.files("praxis_upgrade")
        .joinpath("resources")
        .joinpath(HOOK)
        .read_text(encoding="utf-8")
    )
    return template.replace(
        "PRAXIS_UPGRADE_PYTHON=''", f"PRAXIS_UPGRADE_PYTHON={shlex.quote(python)}", 1
    )


# --- marked blocks: the only text we add to anyone's file --------------------------------


def begin(event: str) -> str:
    return f"# >>> praxis-upgrade {event} >>>"


def end(event: str) -> str:
    return f"# <<< praxis-upgrade {event} <<<"


EXCLUDE = "files"  # the name of our block in .git/info/exclude


def shell_block(event: str) -> list[str]:
    """Lines that run our runner from a hook script, if this clone has one (else nothing).

    The runner is looked up through git, so the same lines also do nothing in a repository
    where praxis-upgrade is not installed (a shared `core.hooksPath`).
    """
    var = "praxis_upgrade_hook"
    return [
        begin(event),
        "# added by `praxis-upgrade hook install`; `praxis-upgrade hook uninstall` removes it",
        f'{var}="$(git rev-parse --git-common-dir 2>/dev/null)/{PRIVATE}/{event}" || {var}=',
        f'if [ -x "${var}" ]; then "${var}" "$@" </dev/null || true; fi',
        f"unset {var}",
        end(event),
    ]


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pre_commit_block(event: str, runner: Path, pad: str, dash: str) -> list[str]:
    """A `repo: local` entry of `repos:` in pre-commit's config, in the file's list style."""
    inner = pad + " " * len(dash)
    field = inner + " " * len(dash)
    return [
        pad + begin(event),
        f"{pad}{dash}repo: local",
        f"{inner}hooks:",
        f"{inner}{dash}id: praxis-upgrade-{event}",
        f"{field}name: praxis-upgrade (prAxIs OS update check)",
        f"{field}entry: {_yaml_quote(shlex.quote(str(runner)))}",
        f"{field}language: system",
        f"{field}stages: [{event}]",
        f"{field}always_run: true",
        f"{field}pass_filenames: false",
        f"{field}verbose: true",
        pad + end(event),
    ]


def lefthook_block(event: str, runner: Path) -> list[str]:
    """A command under `<event>:` for lefthook's local config."""
    run = shlex.quote(str(runner)) + (" {1}" if event == "post-rewrite" else "")
    return [
        begin(event),
        f"{event}:",
        "  commands:",
        "    praxis-upgrade:",
        f"      run: {_yaml_quote(run)}",
        end(event),
    ]


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _insert(text: str, at: int, block: list[str]) -> str:
    """`text` with `block` inserted before its line `at` (kept exact for `_remove`)."""
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    if lines and at == len(lines) and not lines[-1].endswith(("\n", "\r")):
        return text + nl + nl.join(block)
    return "".join(lines[:at] + [line + nl for line in block] + lines[at:])


def has_block(text: str | None, event: str) -> bool:
    return text is not None and begin(event) in (line.strip() for line in text.splitlines())


def _remove(text: str, name: str, where: Path) -> str | None:
    """`text` without our block `name` (exactly as before it was inserted); None if absent."""
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    if begin(name) not in stripped:
        return None
    first = stripped.index(begin(name))
    if end(name) not in stripped[first:]:
        raise UserError(
            f"the praxis-upgrade block in {where} has lost its end line {end(name)!r}",
            hint=f"delete the lines from {begin(name)!r} on by hand, then rerun",
        )
    last = stripped.index(end(name), first)
    before, after = lines[:first], lines[last + 1 :]
    if before and not after and not lines[last].endswith(("\n", "\r")):
        before[-1] = before[-1].rstrip("\r\n")
    return "".join(before + after)


def _read(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            return f.read()  # newlines as they are: what we write back must match byte for byte
    except OSError:
        return None


def _old_style(text: str | None) -> bool:
    """The whole runner installed as the hook itself, as earlier versions of praxis-upgrade did."""
    return text is not None and ID_LINE in text.splitlines() and "PRAXIS_UPGRADE_PYTHON=" in text


def _trivial(text: str) -> bool:
    """Nothing but blank lines, comments and a `#!` line is left."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


# --- who runs a hook -------------------------------------------------------------------------


def husky_dir(hooks: Path) -> Path | None:
    """The folder of the user's husky scripts when git runs hooks from husky 9's `_/` stubs."""
    text = _read(hooks / "h")
    return hooks.parent if text is not None and "husky" in text else None


def manager_of(hook: Path) -> str | None:
    """The tool that wrote the hook script at `hook` (None: absent, ours or unknown)."""
    text = _read(hook)
    if text is None:
        return None
    if any(i in text for i in PRE_COMMIT_IDS):
        return PRE_COMMIT
    if "call_lefthook" in text or re.search(r"\blefthook\b.*\brun\b", text):
        return LEFTHOOK
    if husky_dir(hook.parent) is not None and '/h"' in text:
        return HUSKY
    if "git lfs " in text or "git-lfs" in text:
        return "git-lfs"
    return None


def _interpreter(text: str) -> str:
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return "sh"  # git and husky run a script without `#!` with the shell
    words = first[2:].split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return os.path.basename(words[0]) if words else "sh"


# --- what install writes ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where our hook for one git event lives and by which way it gets run."""

    event: str
    way: str
    path: Path  # the file holding our block: a hook script or a manager's config
    created: bool = False  # we created the file (uninstall deletes it again)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "way": self.way,
            "path": str(self.path),
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Placement:
        return cls(data["event"], data["way"], Path(data["path"]), bool(data.get("created")))


def describe(p: Placement) -> str:
    """How `p` is installed, in words, for the CLI."""
    if p.way == PRE_COMMIT:
        return f"installed via pre-commit: a `repo: local` hook in {p.path}"
    if p.way == HUSKY:
        return f"installed via husky: a block in {p.path}"
    if p.way == LEFTHOOK:
        return f"installed via lefthook: a command in {p.path}"
    if p.way == CHAINED:
        return f"chained into the existing {p.event} hook {p.path} (it keeps running)"
    return f"installed as {p.path}"


@dataclasses.dataclass
class _Edit:
    """One planned write: `text` is None when the file already holds our block."""

    placement: Placement
    text: str | None
    tracked: bool = False


@dataclasses.dataclass
class _Plan:
    """What planning knows: files we created earlier, and texts already planned for files."""

    known: set[Path]
    pending: dict[Path, str] = dataclasses.field(default_factory=dict)

    def read(self, path: Path) -> str | None:
        return self.pending[path] if path in self.pending else _read(path)

    def add(self, edit: _Edit) -> _Edit:
        if edit.text is not None:
            self.pending[edit.placement.path] = edit.text
        if edit.placement.created:
            self.known.add(edit.placement.path)
        return edit


def _load_state(private: Path) -> list[Placement]:
    try:
        data = fs.read_json(private / STATE)
        return [Placement.from_json(p) for p in data["placements"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise StateError(
            f"{private / STATE} is unreadable: {e}",
            hint="delete it and run `praxis-upgrade hook install` again",
        ) from e


def _save_state(private: Path, placements: list[Placement]) -> None:
    data = {"format": STATE_FORMAT, "placements": [p.to_json() for p in placements]}
    fs.atomic_write_json(private / STATE, data)


def _tracked(root: Path, path: Path) -> bool:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return _git(root, "ls-files", "--error-unmatch", "--", str(rel)).returncode == 0


def _refuse_symlink(path: Path, event: str) -> None:
    if path.is_symlink():
        raise UserError(
            f"{path} is a link to {os.readlink(path)}: adding our {event} lines there would change "
            "that file for everything that uses it",
            hint=f"add the lines `praxis-upgrade hook install` prints in {begin(event)!r} ... "
            "yourself, or replace the link by a copy of its file, then rerun",
        )


def _shell_way(path: Path, text: str | None, event: str, husky: bool) -> str:
    if husky:
        return HUSKY
    rest = None if text is None else _remove(text, event, path)
    alone = text is None or (rest is not None and _trivial(rest))
    return HOOK_FILE if alone else CHAINED


def _plan_shell(root: Path, path: Path, event: str, husky: bool, plan: _Plan) -> _Edit:
    """Our block in the shell script `path` (created when missing)."""
    _refuse_symlink(path, event)
    text = plan.read(path)
    way = _shell_way(path, text, event, husky)
    if text is None:
        new = _insert("#!/bin/sh\n", 1, shell_block(event))
        return _Edit(Placement(event, way, path, True), new)
    if has_block(text, event):
        return _Edit(Placement(event, way, path, path in plan.known), None)
    if not husky and not os.access(path, os.X_OK):
        raise UserError(
            f"{path} exists but is not executable, so git skips it",
            hint="make it executable (`chmod +x`) if it should run, or remove it; then rerun",
        )
    interpreter = "sh" if husky else _interpreter(text)  # husky runs its scripts with `sh -e`
    if interpreter not in SHELLS:
        raise UserError(
            f"the existing {event} hook {path} is a {interpreter} script: praxis-upgrade can "
            "only add its lines to a shell script",
            hint=f'make it run `"$(git rev-parse --git-common-dir)/{PRIVATE}/{event}" "$@" '
            "</dev/null` (the runner `hook install` writes), or let a hook manager such as "
            "pre-commit, husky or lefthook run both",
        )
    new = _insert(text, 1 if text.startswith("#!") else 0, shell_block(event))
    return _Edit(Placement(event, way, path), new, _tracked(root, path))


def _pre_commit_config(root: Path, shim: Path) -> Path:
    """The config file pre-commit's hook script at `shim` reads (`--config=`)."""
    match = re.search(r"^ARGS=\((.*)\)\s*$", _read(shim) or "", re.M)
    for arg in shlex.split(match.group(1)) if match else []:
        if arg.startswith("--config="):
            return root / arg.split("=", 1)[1]
    return root / ".pre-commit-config.yaml"


_REPOS = re.compile(r"^repos\s*:\s*(#.*)?$")


def _repos_insertion(text: str, path: Path) -> tuple[int, str, str]:
    """(line to insert before, item indent, item dash) for a new entry of `repos:`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _REPOS.match(line.rstrip())), None)
    if start is None:
        raise UserError(
            f"{path} has no block-style `repos:` list to add a hook to",
            hint="add the praxis-upgrade `repo: local` hook by hand (see `praxis-upgrade hook "
            "install --help`), or write `repos:` as a block list, then rerun",
        )
    pad, dash, last, seen = "", "-   ", start, False
    for i in range(start + 1, len(lines)):
        body = lines[i].lstrip(" ")
        if body.startswith("# <<< praxis-upgrade "):
            last = i  # after our other block, never inside it
        if not body.strip() or body.startswith("#"):
            continue
        indent = len(lines[i]) - len(body)
        if body.startswith(("---", "...")) or (indent == 0 and not body.startswith("-")):
            break
        if not seen and body.startswith("-"):
            seen, pad = True, " " * indent
            spaced = re.match(r"-( +)", body)
            dash = spaced.group(0) if spaced else "- "
        last = i
    return last + 1, pad, dash


def _plan_pre_commit(root: Path, shim: Path, event: str, runner: Path, plan: _Plan) -> _Edit:
    config = _pre_commit_config(root, shim)
    _refuse_symlink(config, event)
    text = plan.read(config)
    created = config in plan.known or text is None
    if text is None:
        new = _insert("repos:\n", 1, pre_commit_block(event, runner, "", "-   "))
        return _Edit(Placement(event, PRE_COMMIT, config, True), new)
    if has_block(text, event):
        return _Edit(Placement(event, PRE_COMMIT, config, created), None)
    at, pad, dash = _repos_insertion(text, config)
    new = _insert(text, at, pre_commit_block(event, runner, pad, dash))
    return _Edit(Placement(event, PRE_COMMIT, config, created), new, _tracked(root, config))


LEFTHOOK_MAIN = ("lefthook.yml", ".lefthook.yml", "lefthook.yaml", ".lefthook.yaml")
LEFTHOOK_LOCAL = ("lefthook-local.yml", ".lefthook-local.yml")
LEFTHOOK_LOCAL_OTHER = ("lefthook-local.yaml", ".lefthook-local.yaml")


def lefthook_local(root: Path) -> Path:
    """lefthook's own file for uncommitted, per-clone additions to its config."""
    for name in LEFTHOOK_LOCAL + LEFTHOOK_LOCAL_OTHER:
        if (root / name).exists():
            return root / name
    dotted = any((root / n).exists() for n in LEFTHOOK_MAIN if n.startswith("."))
    return root / LEFTHOOK_LOCAL[1 if dotted else 0]


def _plan_lefthook(root: Path, event: str, runner: Path, plan: _Plan) -> _Edit:
    local = lefthook_local(root)
    _refuse_symlink(local, event)
    text = plan.read(local)
    created = local in plan.known or text is None
    if text is None:
        return _Edit(
            Placement(event, LEFTHOOK, local, True), _insert("", 0, lefthook_block(event, runner))
        )
    if has_block(text, event):
        return _Edit(Placement(event, LEFTHOOK, local, created), None)
    if re.search(rf"^{re.escape(event)}\s*:", text, re.M):
        raise UserError(
            f"{local} already configures {event}: praxis-upgrade will not merge YAML into it",
            hint=f"add a command running {runner}"
            + (" {1}" if event == "post-rewrite" else "")
            + f" under `{event}: commands:` yourself, then rerun",
        )
    new = _insert(text, len(text.splitlines()), lefthook_block(event, runner))
    return _Edit(Placement(event, LEFTHOOK, local, created), new, _tracked(root, local))


def _plan(root: Path, hooks: Path, event: str, private: Path, plan: _Plan) -> _Edit:
    """Where our `event` hook goes: through the manager that runs it, else a shell script."""
    husky = husky_dir(hooks)
    if husky is not None:
        return plan.add(_plan_shell(root, husky / event, event, True, plan))
    hook = hooks / event
    owner = manager_of(hook)
    if owner == PRE_COMMIT:
        return plan.add(_plan_pre_commit(root, hook, event, private / event, plan))
    if owner == LEFTHOOK:
        return plan.add(_plan_lefthook(root, event, private / event, plan))
    return plan.add(_plan_shell(root, hook, event, False, plan))


def _refuse_tracked(edits: list[_Edit], allowed: bool, private: Path) -> list[str]:
    """Notes about tracked files we change; refuses them unless `allowed`."""
    changing = [e for e in edits if e.tracked and e.text is not None]
    for e in changing:
        if e.placement.way == PRE_COMMIT:
            event = e.placement.event
            raise UserError(
                f"{e.placement.path} is tracked by git in this clone, and pre-commit runs no hook "
                "at all while its config has unstaged changes",
                hint=f"commit a `repo: local` hook running {private / event} (stages: [{event}], "
                "always_run: true, pass_filenames: false) to that config, or take the hook "
                f"from pre-commit (`pre-commit uninstall -t {event}`) and rerun, so that "
                "praxis-upgrade installs its own",
            )
    tracked = sorted({str(e.placement.path) for e in changing})
    if tracked and not allowed:
        raise UserError(
            f"installing would change {', '.join(tracked)}, tracked by git in this clone: "
            "`git pull --rebase` refuses to run while a tracked file has local changes",
            hint="rerun with --edit-tracked to change it anyway (then pull with --autostash), "
            "or add the praxis-upgrade lines to it upstream",
        )
    return [
        f"{path} is tracked by git: the change shows in `git status`, and `git pull --rebase` "
        "needs --autostash while it is there"
        for path in tracked
    ]


def _refuse_global_hooks_path(root: Path, allowed: bool) -> list[str]:
    setting = hooks_path_scope(root)
    if setting is None or setting[0] not in ("global", "system"):
        return []
    scope, value = setting
    if not allowed:
        raise UserError(
            f"core.hooksPath is set in your {scope} git config ({value}): a hook there runs in "
            "every repository on this machine",
            hint=f"give this clone its own hooks folder (`git -C {root} config core.hooksPath "
            ".git/hooks`), or rerun with --global-hooks-path to install there anyway (our "
            "lines then do nothing in repositories without praxis-upgrade)",
        )
    return [f"installed into the {scope} hooks folder {value}: it runs for every repository"]


# --- install / uninstall ---------------------------------------------------------------------


@dataclasses.dataclass
class HookChange:
    """What install/uninstall did, for the CLI to report."""

    placements: list[Placement]  # install: where each event's hook is; uninstall: what went
    changed: bool
    cleaned: list[Placement] = dataclasses.field(default_factory=list)  # stray copies removed
    projects: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def hook(self) -> Path | None:
        """The file holding the post-merge hook."""
        return next((p.path for p in self.placements if p.event == HOOK), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "placements": [p.to_json() for p in self.placements],
            "cleaned": [p.to_json() for p in self.cleaned],
            "projects": list(self.projects),
            "notes": list(self.notes),
        }


def _write(path: Path, text: str, mode: int | None = None) -> bool:
    if _read(path) == text and (mode is None or os.access(path, os.X_OK)):
        return False
    fs.atomic_write_text(path, text, mode=mode)
    return True


def _write_runners(private: Path, python: str) -> bool:
    changed = _write(private / HOOK, render(python), 0o755)
    return _write(private / "post-rewrite", REWRITE_RUNNER, 0o755) or changed


def _apply(edit: _Edit) -> bool:
    if edit.text is None:
        return False
    p = edit.placement
    script = p.created and p.way in (HOOK_FILE, CHAINED, HUSKY)
    fs.atomic_write_text(p.path, edit.text, mode=0o755 if script else None)
    return True


def _candidates(root: Path, hooks: Path, default_hooks: Path, event: str) -> list[Path]:
    """Where a copy of ours may be: the hooks dirs, where managers move hooks, their configs."""
    dirs = [hooks] if hooks == default_hooks else [hooks, default_hooks]
    files = [d / (event + suffix) for d in dirs for suffix in ("", *MOVED_ASIDE)]
    return files + [root / ".pre-commit-config.yaml", lefthook_local(root), root / ".husky" / event]


def _strip(path: Path, event: str, created: bool, hook_dirs: set[Path]) -> bool:
    """Take our `event` block (or an old-style copy) out of `path`; delete what is left empty."""
    text = _read(path)
    if text is None or path.is_symlink():
        return False
    if _old_style(text) and event == HOOK and not has_block(text, event):
        path.unlink()
        return True
    new = _remove(text, event, path)
    if new is None:
        return False
    empty = _trivial(new) or (created and new.strip() == "repos:")
    if empty and (created or path.parent in hook_dirs):
        path.unlink()
    else:
        fs.atomic_write_text(path, new)
    return True


def _restore_old_layout(hooks: Path) -> list[Placement]:
    """Undo an older install: our whole script as the hook, the hook before it as .legacy."""
    hook, legacy = hooks / HOOK, hooks / (HOOK + ".legacy")
    if not _old_style(_read(hook)):
        return []
    if legacy.exists() and not _old_style(_read(legacy)):
        os.replace(legacy, hook)  # put back what an older praxis-upgrade had moved aside
    else:
        hook.unlink()
    return [Placement(HOOK, HOOK_FILE, hook)]


def _others_using(root: Path) -> set[Path]:
    """Files that other registered clones' hooks live in (a shared `core.hooksPath`)."""
    mine = registry.key(root)
    paths: set[Path] = set()
    for source in {p.source for p in registry.load().projects.values()} - {mine}:
        try:
            paths |= {p.path for p in _load_state(private_dir(Path(source)))}
        except (UserError, OSError):
            continue
    return paths


def _clean_elsewhere(
    root: Path, hooks: Path, keep: list[Placement], before: list[Placement]
) -> list[Placement]:
    """Remove our blocks from everywhere but `keep`: earlier ways, and copies others moved."""
    default_hooks = private_dir(root).parent / "hooks"
    shared = _others_using(root)
    kept = {(p.event, p.path) for p in keep}
    cleaned = []
    for event in EVENTS:
        known = {p.path: p for p in before if p.event == event}
        for path in dict.fromkeys([*known, *_candidates(root, hooks, default_hooks, event)]):
            was = known.get(path, Placement(event, HOOK_FILE, path))
            if (event, path) in kept or path in shared:
                continue
            if _strip(path, event, was.created, {hooks, default_hooks}):
                cleaned.append(was)
    return cleaned


def _exclude(root: Path, placements: list[Placement]) -> None:
    """List the files we created inside the work tree in .git/info/exclude (and only those)."""
    git_dir = private_dir(root).parent
    path = git_dir / "info" / "exclude"
    text = _read(path) or ""
    base = _remove(text, EXCLUDE, path)
    base = text if base is None else base
    patterns: list[str] = []
    for p in placements:
        try:
            rel = "/" + p.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if p.created and rel not in patterns and git_dir not in p.path.resolve().parents:
            patterns.append(rel)
    block = [begin(EXCLUDE), *patterns, end(EXCLUDE)]
    new = _insert(base, len(base.splitlines()), block) if patterns else base
    if new != text:
        fs.atomic_write_text(path, new)


def install(
    source: Path,
    projects: list[Path],
    mode: str = "notify",
    *,
    python: str | None = None,
    edit_tracked: bool = False,
    global_hooks_path: bool = False,
) -> HookChange:
    """Install (idempotently) the hooks into `source` and register `projects` for them.

    Each event's hook goes in by the way of the tool that runs it: pre-commit's config,
    husky's script, lefthook's local config, a block in a foreign shell hook, or a hook file of
    our own. Copies of ours left elsewhere (another way, an older layout) are removed, so git
    runs ours once.
    """
    root = source_root(source)
    roots = [project_root(p) for p in projects]
    if mode not in registry.MODES:
        raise UserError(f"unknown hook mode {mode!r}", hint="use notify or auto")
    notes = _refuse_global_hooks_path(root, global_hooks_path)
    hooks, private = hooks_dir(root), private_dir(root)
    before = _load_state(private)
    plan = _Plan({p.path for p in before if p.created})
    cleaned = _restore_old_layout(hooks)
    edits = [_plan(root, hooks, event, private, plan) for event in EVENTS]
    notes += _refuse_tracked(edits, edit_tracked, private)
    changed = _write_runners(private, python or sys.executable)
    changed = any([_apply(e) for e in edits]) or changed
    placements = [e.placement for e in edits]
    cleaned += _clean_elsewhere(root, hooks, placements, before)
    _exclude(root, placements)
    if placements != before:
        _save_state(private, placements)
    for p in roots:
        registry.register(p, root, mode, python=python)
    notes += _manager_notes(root, hooks, placements)
    changed = changed or bool(cleaned) or placements != before
    return HookChange(placements, changed, cleaned, [str(p) for p in roots], notes)


def _manager_notes(root: Path, hooks: Path, placements: list[Placement]) -> list[str]:
    """Managers set up in the clone that do not run our events (yet)."""
    ways = {p.way for p in placements}
    notes = []
    if (root / ".pre-commit-config.yaml").exists() and PRE_COMMIT not in ways:
        notes.append(
            "pre-commit is set up here but does not run post-merge/post-rewrite hooks; after "
            "`pre-commit install -t post-merge -t post-rewrite`, run `praxis-upgrade hook "
            "install` again to move ours into its config"
        )
    if (root / ".husky").is_dir() and husky_dir(hooks) is None:
        notes.append(
            "husky is not active here (core.hooksPath does not point at .husky/_); once it is "
            "(`npm install`), run `praxis-upgrade hook install` again"
        )
    if any((root / n).exists() for n in LEFTHOOK_MAIN) and LEFTHOOK not in ways:
        notes.append(
            "lefthook is set up here but does not run post-merge/post-rewrite hooks; after "
            "`lefthook install` does, run `praxis-upgrade hook install` again"
        )
    return notes


def uninstall(source: Path, projects: list[Path] | None = None) -> HookChange:
    """Unregister `projects` (all of this clone's when None); remove the hooks when none remain.

    Removes exactly what install added, also where another tool has moved it since.
    """
    root = source_root(source)
    names = (
        [registry.key(p) for p in projects]
        if projects
        else [p.project for p in registry.projects_for_source(root)]
    )
    for name in names:
        registry.unregister(name)
    if registry.projects_for_source(root):
        kept = "hooks kept: other projects registered for this clone still use them"
        return HookChange([], False, projects=names, notes=[kept])
    hooks, private = hooks_dir(root), private_dir(root)
    before = _load_state(private)
    removed = _restore_old_layout(hooks) + _clean_elsewhere(root, hooks, [], before)
    _exclude(root, [])
    changed = _remove_private(private) or bool(removed)
    return HookChange(removed, changed, [], names)


def _remove_private(private: Path) -> bool:
    gone = [private / n for n in (*EVENTS, STATE) if (private / n).exists()]
    for path in gone:
        path.unlink()
    if private.is_dir() and not any(private.iterdir()):
        private.rmdir()
    return bool(gone)


# --- is it still installed? -------------------------------------------------------------------


@dataclasses.dataclass
class Health:
    """Whether one placement is still where install put it, and still run by git."""

    placement: Placement
    problem: str | None = None  # set when the hook no longer runs
    note: str | None = None  # it runs, but not as install left it

    def to_json(self) -> dict[str, Any]:
        return {**self.placement.to_json(), "problem": self.problem, "note": self.note}


OLD_LAYOUT = (
    "installed the older way (post-merge only): run `praxis-upgrade hook install` again to "
    "add post-rewrite and hook-manager support"
)


def _who(path: Path) -> str:
    if not path.exists():
        return "deleted" if not path.is_symlink() else "a broken link"
    return manager_of(path) or "unknown"


def _check_shell(p: Placement, hooks: Path) -> Health:
    husky = husky_dir(hooks)
    if p.path.parent != hooks:
        by = "husky" if husky is not None else f"core.hooksPath is now {hooks}"
        return Health(p, f"removed by another tool ({by}): git no longer runs {p.path}")
    if has_block(_read(p.path), p.event):
        return Health(p)
    legacy, old = (p.path.with_name(p.event + s) for s in MOVED_ASIDE)
    owner = manager_of(p.path)
    if owner == PRE_COMMIT and has_block(_read(legacy), p.event):
        return Health(
            p,
            note=f"moved by pre-commit to {legacy}, which it runs (its migration mode); "
            "`pre-commit install -f` would delete it: rerun `praxis-upgrade hook install` to "
            "move it into pre-commit's config",
        )
    if has_block(_read(old), p.event):
        return Health(
            p, f"removed by another tool ({owner or 'unknown'}): moved to {old}, which nothing runs"
        )
    return Health(p, f"removed by another tool ({_who(p.path)}): {p.path} no longer has it")


def _check_manager(p: Placement, hooks: Path) -> Health:
    if not has_block(_read(p.path), p.event):
        return Health(p, f"removed from {p.path} (by hand or by another tool)")
    if p.way == HUSKY:
        if husky_dir(hooks) != p.path.parent:
            return Health(
                p,
                f"removed by another tool (husky): git runs hooks from {hooks} now, not from "
                f"husky's, so nothing runs {p.path}",
            )
        return Health(p)
    hook = hooks / p.event
    owner = manager_of(hook)
    if owner != p.way:
        by = p.way if not hook.exists() else owner or "unknown"
        return Health(
            p,
            f"removed by another tool ({by}): {hook} is no longer {p.way}'s hook, so nothing "
            f"runs the {p.event} hook in {p.path}",
        )
    return Health(p)


def health(source: str | Path) -> list[Health]:
    """For each event: is our hook still installed where install put it, and still run?"""
    root = Path(source)
    try:
        hooks, private = hooks_dir(root), private_dir(root)
        placements = _load_state(private)
    except (UserError, OSError) as e:
        return [Health(Placement(HOOK, "?", root), f"cannot check {root}: {e}")]
    if not placements and _old_style(_read(hooks / HOOK)):
        return [Health(Placement(HOOK, HOOK_FILE, hooks / HOOK), note=OLD_LAYOUT)]
    if not placements:
        return [Health(Placement(HOOK, "?", hooks / HOOK), "not installed")]
    out = []
    for p in placements:
        h = _check_shell(p, hooks) if p.way in (HOOK_FILE, CHAINED) else _check_manager(p, hooks)
        if h.problem is None and not os.access(private / p.event, os.X_OK):
            h = Health(p, f"its runner {private / p.event} is missing")
        out.append(h)
    return out


# --- what the hook runs -------------------------------------------------------------------


def changed_watched(source: Path) -> bool:
    """Did the last merge (ORIG_HEAD..HEAD) touch universal/, mcp_server/ or scripts/?

    Unknown (no ORIG_HEAD) counts as changed: a notice too many beats a missed upgrade.
    """
    result = _git(source, "diff", "--name-only", "ORIG_HEAD", "HEAD", "--", *WATCHED)
    return result.returncode != 0 or bool(result.stdout.strip())


def head(source: Path) -> str:
    result = _git(source, "rev-parse", "HEAD")
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@dataclasses.dataclass
class PostMerge:
    """Outcome of one post-merge check."""

    notified: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(
        default_factory=list
    )  # registered, but no install there now
    started: list[str] = dataclasses.field(default_factory=list)
    log: Path | None = None


def run_post_merge(source: Path) -> PostMerge:
    """Notify about, or start background upgrades of, the projects registered for `source`."""
    outcome = PostMerge()
    projects = registry.projects_for_source(source)
    if not projects or not changed_watched(source):
        return outcome
    rev = head(source)
    for p in projects:
        if not Path(p.target).is_dir():
            outcome.missing.append(p.project)
        elif p.mode == "auto":
            outcome.started.append(p.project)
        else:
            registry.record_notice(p.project, rev)
            outcome.notified.append(p.project)
    if outcome.started:
        outcome.log = start_worker(Path(registry.key(source)), outcome.started)
    return outcome


def start_worker(source: Path, projects: list[str]) -> Path:
    """Start one detached worker that upgrades `projects` one after another; returns its log."""
    logs = store.hook_logs()
    logs.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = logs / f"auto-{stamp}-{os.getpid()}.log"
    args = ["hook", "auto-worker", "--source", str(source), "--log", str(log)]
    for p in projects:
        args += ["--project", p]
    spawn.spawn(
        args,
        log,
        env=clean_env(),
        module="praxis_upgrade.cli.git_hook",
        cwd=source,
        merge_stderr=True,
    )
    return log


def auto_command(project: str, source: Path) -> list[str]:
    """The upgrade command for one project (`$PRAXIS_UPGRADE_HOOK_COMMAND` replaces it in tests)."""
    target = str(Path(project) / ".praxis-os")
    override = os.environ.get(COMMAND_ENV)
    if override:
        return [*shlex.split(override), "--target", target, "--source", str(source)]
    entry = registry.load().projects.get(registry.key(project))
    python = entry.python if entry and os.access(entry.python, os.X_OK) else sys.executable
    return [
        python,
        "-m",
        "praxis_upgrade",
        "run",
        "--target",
        target,
        "--source",
        str(source),
        "--conflicts",
        "keep-local",
        "--yes",
        "--no-downgrade",
        "--json",
    ]


def run_auto(source: Path, projects: list[str], log: Path) -> list[tuple[str, int]]:
    """Upgrade each project in turn (output appended to `log`) and record each exit code."""
    results = []
    for project in projects:
        with open(log, "ab") as out:
            out.write(f"== {dt.datetime.now().isoformat(timespec='seconds')} {project}\n".encode())
            out.flush()
            try:
                code = subprocess.run(
                    auto_command(project, source),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=clean_env(),
                    cwd=project,
                    check=False,
                ).returncode
            except OSError as e:
                out.write(f"cannot start the upgrade: {e}\n".encode())
                code = 127
        registry.record_auto_run(project, log, code)
        results.append((project, code))
    return results
