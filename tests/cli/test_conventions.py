"""One convention on every command: `--json` where it reports, `-V`, no colour when asked."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import pty
import subprocess
import sys
from pathlib import Path

import click
import pytest

import praxis_upgrade.cli as cli_package
from kits.clikit import cli
from kits.sandboxkit import Sandbox
from praxis_upgrade import __version__
from praxis_upgrade.cli import HOMES, main_group
from praxis_upgrade.engine import run as engine

ESC = "\x1b["


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run the command with stdout and stderr on a pseudo-terminal; what it printed there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "praxis_upgrade", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command has ended
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_dash_capital_v_prints_the_version() -> None:
    done = cli("-V")
    assert done.returncode == 0 and __version__ in done.stdout


@pytest.mark.parametrize(
    ("setting", "coloured"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)],
    ids=["default", "NO_COLOR", "TERM=dumb"],
)
def test_colour_on_a_terminal_only_unless_the_user_turned_it_off(
    tmp_path: Path, setting: dict[str, str], coloured: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env = {**env, "TERM": "xterm", **setting}
    shown = _on_a_terminal("status", "--target", str(tmp_path / "nowhere"), env=env)
    assert "does not exist" in shown  # an error, printed in red on a terminal
    assert (ESC in shown) is coloured


def test_adopt_and_the_backup_commands_answer_in_json(tmp_path: Path, sandbox: Sandbox) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    source = str(sandbox.source.path)
    adopted = cli("adopt", "--target", str(target.project), "--source", source, "--json")
    assert adopted.returncode == 0, adopted.stderr
    answer = json.loads(adopted.stdout)
    assert answer["ok"] and answer["adopted_from"] and answer["adoption"]["matched"] > 0
    engine.run_upgrade(target.project, source_path=source, skip_tests=True)

    verified = cli("backups", "verify", "--target", str(target.project), "--json")
    assert verified.returncode == 0, verified.stderr
    (backup,) = json.loads(verified.stdout)["backups"]
    assert backup["ok"] and backup["problems"] == []
    pruned = cli("backups", "prune", "--keep", "1", "--target", str(target.project), "--json")
    assert json.loads(pruned.stdout) == {"ok": True, "removed": []}
    refused = cli("backups", "verify", "nope", "--target", str(target.project), "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["ok"] is False


def test_shell_completion_as_the_readme_sets_it_up_completes_commands() -> None:
    env = {**os.environ, "_PRAXIS_UPGRADE_COMPLETE": "bash_source"}
    script = subprocess.run(["praxis-upgrade"], env=env, capture_output=True, text=True)
    assert "_praxis_upgrade_completion" in script.stdout
    asked = {
        **os.environ,
        "_PRAXIS_UPGRADE_COMPLETE": "bash_complete",
        "COMP_WORDS": "praxis-upgrade ro",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(["praxis-upgrade"], env=asked, capture_output=True, text=True)
    assert done.stdout.split() == ["plain,rollback"]


def _leaves(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            out += _leaves(command, f"{prefix}{name} ")
        else:
            out.append((f"{prefix}{name}", command))
    return out


# commands with nothing to report as data: they run a server, a demo, or edit a file and say so
NO_JSON = {"demo", "mcp", "vscode install", "vscode uninstall"}


def test_every_command_that_reports_something_takes_json() -> None:
    missing = [
        name
        for name, command in _leaves(main_group)
        if name not in NO_JSON and "as_json" not in {p.name for p in command.params}
    ]
    assert missing == []


def test_hook_install_list_and_uninstall_answer_in_json(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    (clone / "universal").mkdir()
    installed = cli("hook", "install", "--source", str(clone), "--json")
    assert installed.returncode == 0, installed.stderr
    answer = json.loads(installed.stdout)
    assert answer["ok"] and {p["event"] for p in answer["placements"]} >= {"post-merge"}
    assert json.loads(cli("hook", "list", "--json").stdout) == {}
    removed = json.loads(cli("hook", "uninstall", "--source", str(clone), "--json").stdout)
    assert removed["ok"] and removed["changed"]


def test_the_main_group_finds_every_command_of_every_cli_module_by_its_name() -> None:
    defined = {}
    for module in pkgutil.iter_modules(cli_package.__path__):
        held = importlib.import_module(f"praxis_upgrade.cli.{module.name}")
        commands = getattr(held, "COMMANDS", [])
        defined.update({command.name: module.name for command in commands})
    assert defined == HOMES


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import sys; from praxis_upgrade.cli import main; "
        "code = main(['status', '--help']); "
        "print(sorted(m for m in sys.modules if m.startswith(('praxis_upgrade.cli.', 'git'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.splitlines()[-1]
    assert "praxis_upgrade.cli.status" in loaded
    for other in ("upgrade", "demo", "integrations", "mcp"):
        assert f"praxis_upgrade.cli.{other}'" not in loaded


# named at module top but run on first use (`util.lazy`): in sys.modules, still not executed
HEAVY = ("git", "psutil", "filelock", "packaging.requirements", "anyio", "mcp")


def test_a_dry_run_loads_none_of_the_heavy_libraries_it_does_not_call(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.5.0", venv=True)
    code = (
        "import json, sys; from praxis_upgrade.cli import main; "
        "code = main(sys.argv[2:]); "
        "ran = [m for m in sys.argv[1].split() if type(sys.modules.get(m)) is type(sys)]; "
        "print(json.dumps(ran))"
    )
    args = ["run", "--dry-run", "--json", "--source", str(sandbox.source.path)]
    done = subprocess.run(
        [sys.executable, "-c", code, " ".join(HEAVY), *args],
        cwd=target.project,
        capture_output=True,
        text=True,
        check=False,
    )
    *answer, loaded = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert json.loads("".join(answer))["session"]["results"]["plan"]["summary"]
    assert json.loads(loaded) == []
