"""Expected tool names cached by server file content; a run with nothing to do skips phase 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import praxis_upgrade
from kits.sandboxkit import Sandbox, server_checkout
from praxis_upgrade.demo import TAGS, release
from praxis_upgrade.engine import run as engine
from praxis_upgrade.phases import validation
from praxis_upgrade.server import probe, toolnames
from praxis_upgrade.store import Store
from praxis_upgrade.util import fs

TOOLS = textwrap.dedent(
    """\
    def register(mcp):
        @mcp.tool()
        async def search_standards(query: str): ...

        @mcp.tool(name="pos_workflow")
        def workflow(action: str): ...

        @mcp.tool()
        def alpha_browser(): ...
    """
)
ALL = {"search_standards", "pos_workflow", "alpha_browser"}


def make_server(root: Path, tools: str = TOOLS, padding: int = 3) -> Path:
    """``root/.praxis-os/mcp_server`` with one tools module and some modules without tools."""
    server = root / ".praxis-os" / "mcp_server"
    (server / "server" / "tools").mkdir(parents=True)
    (server / "__init__.py").write_text("")
    (server / "server" / "tools" / "tools.py").write_text(tools)
    for i in range(padding):
        (server / f"module_{i}.py").write_text(f"@decorator\ndef helper_{i}(): ...\n")
    return server


def cache_doc(cache: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(cache.read_bytes())
    return doc


def refuse_to_parse(_data: bytes, path: Path) -> set[str]:
    """Stands in for the parser where the cache must answer."""
    raise AssertionError(f"{path} was parsed")


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The contents hashed, in order (a file read for its hash)."""
    seen: list[bytes] = []
    real = fs.sha256_bytes

    def counting(data: bytes) -> str:
        seen.append(data)
        return real(data)

    toolnames._parser_id()  # hashes this module once per process: not a server file
    monkeypatch.setattr(fs, "sha256_bytes", counting)
    return seen


@pytest.fixture
def old_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as older than the racy window (the test's files are seconds old)."""
    monkeypatch.setattr(toolnames, "_RACY_NS", -(10**15))


def test_a_cached_answer_is_a_fresh_parse_for_every_released_server(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "toolnames.json"  # one cache through every version, as an install's
    for tag in TAGS:
        checkout = server_checkout(sandbox.source.path, tag, tmp_path / tag)
        fresh = toolnames.expected_tools(checkout)
        assert fresh == set(release(tag).tools), tag
        assert toolnames.expected_tools(checkout, cache=cache) == fresh, tag
        with monkeypatch.context() as m:
            m.setattr(toolnames, "tools_in_source", refuse_to_parse)  # a hit parses nothing
            assert toolnames.expected_tools(checkout, cache=cache) == fresh, tag


@pytest.mark.usefixtures("old_files")
def test_a_hit_neither_parses_nor_reads_files_whose_stat_is_unchanged_and_old(
    tmp_path: Path, hashed: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(tmp_path)
    cache = tmp_path / "toolnames.json"
    assert toolnames.expected_tools(server, cache=cache) == ALL
    assert len(hashed) == 5
    written = cache.stat().st_mtime_ns
    monkeypatch.setattr(toolnames, "tools_in_source", refuse_to_parse)

    assert toolnames.expected_tools(server, cache=cache) == ALL
    assert len(hashed) == 5  # nothing read again
    assert cache.stat().st_mtime_ns == written  # nothing changed: not rewritten


@pytest.mark.usefixtures("old_files")
def test_a_file_changed_in_place_with_its_size_changes_the_answer(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    cache = tmp_path / "toolnames.json"
    assert toolnames.expected_tools(server, cache=cache) == ALL
    tools = server / "server" / "tools" / "tools.py"
    st = tools.stat()
    changed = TOOLS.replace("alpha_browser", "omega_browser")
    assert len(changed) == len(TOOLS)
    with open(tools, "r+", encoding="utf-8") as f:  # the same inode, the same size
        f.write(changed)
    os.utime(tools, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    assert toolnames.expected_tools(server, cache=cache) == ALL - {"alpha_browser"} | {
        "omega_browser"
    }
    assert toolnames.expected_tools(server, cache=cache) == ALL - {"alpha_browser"} | {
        "omega_browser"
    }


def test_files_written_within_the_racy_window_are_read_again(
    tmp_path: Path, hashed: list[bytes]
) -> None:
    server = make_server(tmp_path)
    cache = tmp_path / "toolnames.json"
    assert toolnames.expected_tools(server, cache=cache) == ALL
    tools = server / "server" / "tools" / "tools.py"
    st = tools.stat()
    # a write in the same timestamp tick: same inode, size and mtime (ctime may match as well)
    with open(tools, "r+", encoding="utf-8") as f:
        f.write(TOOLS.replace("alpha_browser", "omega_browser"))
    os.utime(tools, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert tools.stat().st_mtime_ns == st.st_mtime_ns and tools.stat().st_size == st.st_size
    hashed.clear()

    assert "omega_browser" in toolnames.expected_tools(server, cache=cache)
    assert len(hashed) == 5  # every file is seconds old: each one was read and hashed


@pytest.mark.usefixtures("old_files")
def test_files_moved_renamed_or_added_are_seen(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    cache = tmp_path / "toolnames.json"
    assert toolnames.expected_tools(server, cache=cache) == ALL
    (server / "server" / "tools" / "tools.py").rename(server / "tests_moved.py")
    (server / "tests").mkdir()
    (server / "tests" / "test_x.py").write_text("@mcp.tool()\ndef fake_in_tests(): ...\n")
    (server / "more.py").write_text("@mcp.tool()\ndef current_date(): ...\n")
    assert toolnames.expected_tools(server, cache=cache) == ALL | {"current_date"}
    (server / "tests_moved.py").unlink()
    assert toolnames.expected_tools(server, cache=cache) == {"current_date"}


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xffnot json",
        b"",
        b"[1, 2]",
        b'{"format": "something-else", "files": {}, "tools": {}}',
        b"truncated:",
        b"wrong shapes",
        b"another parser",
    ],
)
@pytest.mark.usefixtures("old_files")
def test_a_corrupt_or_foreign_cache_is_ignored_and_rewritten(
    tmp_path: Path, content: bytes
) -> None:
    server = make_server(tmp_path)
    cache = tmp_path / "toolnames.json"
    toolnames.expected_tools(server, cache=cache)
    doc = cache_doc(cache)
    if content == b"truncated:":
        content = cache.read_bytes()[: cache.stat().st_size // 2]
    elif content == b"wrong shapes":  # this parser's cache, every entry of the wrong type
        doc["files"] = {rel: ["x", 1, 2, 3, rec[4], 5] for rel, rec in doc["files"].items()}
        doc["tools"] = {sha: "search_standards" for sha in doc["tools"]}
        content = json.dumps(doc).encode()
    elif content == b"another parser":  # what another version of the rules found: not trusted
        doc["parser"] = "0/py2.7/other"
        doc["tools"] = {sha: ["bogus_tool"] for sha in doc["tools"]}
        content = json.dumps(doc).encode()
    cache.write_bytes(content)

    assert toolnames.expected_tools(server, cache=cache) == ALL
    rewritten = cache_doc(cache)
    assert rewritten["parser"] == toolnames._parser_id()
    assert set().union(*rewritten["tools"].values()) == ALL


def test_an_unwritable_cache_costs_time_not_the_answer(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    (tmp_path / "not-a-folder").write_text("")
    assert toolnames.expected_tools(server, cache=tmp_path / "not-a-folder" / "t.json") == ALL


@pytest.mark.usefixtures("old_files")
def test_the_config_groups_are_applied_after_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(tmp_path)
    cache = Store(server.parent).toolnames_cache
    config = server.parent / "config.json"
    config.write_text(json.dumps({"mcp": {"enabled_tool_groups": ["rag"]}}))
    assert toolnames.expected_tools(server, cache=cache) == {"search_standards"}
    assert set().union(*cache_doc(cache)["tools"].values()) == ALL  # every tool is cached

    monkeypatch.setattr(toolnames, "tools_in_source", refuse_to_parse)
    config.write_text(json.dumps({"mcp": {"enabled_tool_groups": ["workflow", "browser"]}}))
    assert toolnames.expected_tools(server, cache=cache) == {"pos_workflow", "alpha_browser"}
    assert toolnames.expected_tools(server, cache=cache, groups={"rag"}) == {"search_standards"}
    config.unlink()
    assert toolnames.expected_tools(server, cache=cache) == ALL


@pytest.mark.usefixtures("old_files")
def test_the_cache_keeps_the_latest_two_trees_only(tmp_path: Path) -> None:
    server = make_server(tmp_path, padding=0)
    cache = tmp_path / "toolnames.json"
    tools = server / "server" / "tools" / "tools.py"
    shas = []
    for n in range(4):
        name = f"tree{'x' * n}_browser"  # each tree another size: stats are trusted here
        tools.write_text(TOOLS.replace("alpha_browser", name))
        assert name in toolnames.expected_tools(server, cache=cache)
        assert name in toolnames.expected_tools(server, cache=cache)  # the same tree again
        shas.append(fs.sha256_file(tools))
    doc = cache_doc(cache)
    empty = fs.sha256_bytes(b"")  # __init__.py, in every tree
    assert set(doc["tools"]) == {empty, shas[2], shas[3]}
    assert set(doc["files"]) == {"__init__.py", "server/tools/tools.py"}


def test_a_file_that_cannot_define_a_tool_is_not_parsed_and_the_rest_is_as_before(
    tmp_path: Path,
) -> None:
    assert toolnames.tools_in_source(b"def f():\n    return 1 @ 2\n", tmp_path / "a.py") == set()
    assert toolnames.tools_in_source(b"def tool(): ...\n", tmp_path / "a.py") == set()
    # identifiers are NFKC-normalised: a full-width "tool" is the attribute `tool`
    wide = "@mcp.\uff54\uff4f\uff4f\uff4c()\ndef wide_tool(): ...\n".encode()
    assert toolnames.tools_in_source(wide, tmp_path / "a.py") == {"wide_tool"}
    # old Mac and Windows line ends, as text mode read them; a file that does not parse
    assert toolnames.tools_in_source(b"@mcp.tool()\rdef cr(): ...\r", tmp_path / "a.py") == {"cr"}
    broken = b"@mcp.tool(name='named')\r\ndef f(:\r\n"
    assert toolnames.tools_in_source(broken, tmp_path / "a.py") == {"named"}


def test_the_validation_phase_keeps_the_cache_in_the_tools_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(tmp_path)
    praxis = server.parent
    (praxis / "config.json").write_text(json.dumps({"mcp": {"enabled_tool_groups": ["rag"]}}))
    asked: list[set[str]] = []

    def fake_probe(_target: Path, *, expected: set[str], **_: Any) -> probe.ProbeResult:
        asked.append(expected)
        return probe.ProbeResult(checks=[], seconds=0.0, command=[])

    monkeypatch.setattr(validation, "probe_server", fake_probe)
    engine.validate_install(praxis)

    assert asked == [{"search_standards"}]
    cache = Store(praxis.resolve()).toolnames_cache
    assert cache.parent == praxis / ".cache" / "praxis-upgrade"
    assert set().union(*cache_doc(cache)["tools"].values()) == ALL


NO_OP = """
import subprocess, sys
started = []
real = subprocess.Popen.__init__
def record(self, args, *a, **k):
    started.append([str(x) for x in args] if isinstance(args, (list, tuple)) else [str(args)])
    return real(self, args, *a, **k)
subprocess.Popen.__init__ = record

from praxis_upgrade import run_upgrade
session = run_upgrade(sys.argv[1], source_path=sys.argv[2])
plan = session.results["plan"]
assert plan["up_to_date"] is True, plan
assert "validation" not in session.results, sorted(session.results)
mcp = sorted(m for m in sys.modules if m == "mcp" or m.startswith("mcp."))
assert not mcp, mcp
servers = [a for a in started if any(a[i : i + 2] == ["-m", "mcp_server"] for i in range(len(a)))]
assert not servers, servers
assert started, "the recorder saw nothing: the check would prove nothing"
print("no-op ok:", len(started), "processes, none of them the server")
"""


@pytest.mark.slow
def test_a_run_with_nothing_to_do_neither_imports_the_mcp_sdk_nor_starts_the_server(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    target = sandbox.target(tmp_path / "project", "v1.6.0", venv=True, edits=False)
    engine.run_upgrade(target.project, source_path=sandbox.source.path)  # adopts: not a no-op
    src = Path(praxis_upgrade.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }

    done = subprocess.run(
        [sys.executable, "-c", NO_OP, str(target.project), str(sandbox.source.path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "no-op ok" in done.stdout
