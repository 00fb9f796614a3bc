"""Big managed files: backed up, upgraded, shown and restored in a fixed amount of memory.

Each step runs in a child process that reports how far its resident memory rose above where it
stood before the step (Linux's VmHWM, the peak, against VmRSS before), and the peak of the git
processes it ran (their RSS also counts the object file git maps, which is small here: the files
are NUL bytes after a short head). A file is 128 MiB, the bound 48 MiB: a step that holds the
file whole fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kits.contentkit import BASE_FILES, make_source
from praxis_upgrade.content.plan import Plan, PlanEntry
from praxis_upgrade.content.vocab import Action, Klass
from praxis_upgrade.util import fs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc"),
]

MIB = 1 << 20
SIZE = 128 * MIB
BOUND = 48 * MIB
UPDATE = "standards/universal/big/update.bin"  # upstream changed it, you did not
CONFLICT = "standards/universal/big/conflict.bin"  # both changed it: binary, never merged
SIDE = CONFLICT + ".praxis-upstream"

MEASURE = """
import json, resource, sys
from pathlib import Path

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

args = json.loads(sys.argv[1])
{imports}
before = status("VmRSS")
result = {work}
peak = status("VmHWM")
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({{"grew": peak - before, "children": children, "result": result}}))
"""


def write_big(path: Path, head: bytes) -> Path:
    """A sparse SIZE-byte file: `head`, then NUL bytes (written in no time, read back in full)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(SIZE)
    return path


def in_child(imports: str, work: str, **args: Any) -> Any:
    """Run `work` (an expression) in a fresh interpreter; assert it stayed within the bound."""
    code = MEASURE.format(imports=textwrap.dedent(imports), work=work)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.splitlines()[-1])
    assert measured["grew"] < BOUND, f"{work}: grew by {measured['grew'] / MIB:.0f} MiB"
    assert measured["children"] < BOUND + 64 * MIB, f"{work}: git took {measured['children']}"
    return measured["result"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A source clone holding two versions of a big file: name -> (sha256, git blob id)."""
    tmp = tmp_path_factory.mktemp("big-source")
    src = make_source(tmp, dict(BASE_FILES))
    files = {name: write_big(tmp / name, f"{name}\0".encode()) for name in ("v1", "v2", "mine")}
    hashing = {
        name: subprocess.Popen(
            ["git", "hash-object", "-w", str(files[name])], cwd=src.path, stdout=subprocess.PIPE
        )
        for name in ("v1", "v2")
    }
    blobs = {name: proc.communicate()[0].decode().strip() for name, proc in hashing.items()}
    return src.path, {name: (fs.sha256_file(p), blobs.get(name, "")) for name, p in files.items()}


@pytest.fixture
def big(source: tuple[Path, dict[str, tuple[str, str]]], tmp_path: Path) -> tuple[Path, Path, Plan]:
    """An install holding v1 of two big files (one edited) and the plan that brings v2."""
    path, versions = source
    (v1, v1_blob), (v2, v2_blob), (mine, _) = (versions[n] for n in ("v1", "v2", "mine"))
    target = tmp_path / "project" / ".praxis-os"
    for folder in ("workflows", "mcp_server"):
        (target / folder).mkdir(parents=True)
    write_big(target / UPDATE, b"v1\0")
    write_big(target / CONFLICT, b"mine\0")
    entries = [
        PlanEntry(
            rel,
            "content",
            klass,
            action,
            base_sha=v1,
            local_sha=local,
            upstream_sha=v2,
            upstream_git_blob=v2_blob,
            mode=0o644,
            size=SIZE,
            base_git_blob=v1_blob,
            base_mode=0o644,
        )
        for rel, klass, action, local in (
            (UPDATE, Klass.UPSTREAM_CHANGED, Action.UPDATE, v1),
            (CONFLICT, Klass.CONFLICT, Action.MERGE, mine),
        )
    ]
    return path, target, Plan("1.0.0", "2.0.0", None, "0" * 40, entries)


def test_a_big_file_is_backed_up_upgraded_and_restored_in_bounded_memory(
    big: tuple[Path, Path, Plan],
) -> None:
    source, target, plan = big
    before = {rel: fs.sha256_file(target / rel) for rel in (UPDATE, CONFLICT)}
    paths = [UPDATE, SIDE]  # what applying the plan changes
    backup_id = in_child(
        "from praxis_upgrade.backups.create import create_backup",
        "create_backup(Path(args['target']), args['paths'], meta={}).id",
        target=str(target),
        paths=paths,
    )
    written = in_child(
        """
        from praxis_upgrade.content.apply import apply_plan
        from praxis_upgrade.content.plan import Plan
        from praxis_upgrade.source.repo import SourceRepo
        """,
        "apply_plan(Plan.from_json(args['plan']), Path(args['target']), "
        "SourceRepo(args['source']), policy='merge').written",
        target=str(target),
        source=str(source),
        plan=plan.to_json(),
    )
    upstream = plan.entries[0].upstream_sha
    assert written == {UPDATE: upstream, SIDE: upstream}
    assert fs.sha256_file(target / UPDATE) == fs.sha256_file(target / SIDE) == upstream
    assert fs.sha256_file(target / CONFLICT) == before[CONFLICT]  # yours is kept
    verified = in_child(
        """
        from praxis_upgrade.backups.manifest import Backup
        from praxis_upgrade.backups.restore import restore_backup
        """,
        "restore_backup(Path(args['target']), Backup.load(Path(args['backup'])), "
        "added_shas=args['written']).verified",
        target=str(target),
        backup=str(target / ".backups" / backup_id),
        written=written,
    )
    assert verified
    assert {rel: fs.sha256_file(target / rel) for rel in (UPDATE, CONFLICT)} == before
    assert not (target / SIDE).exists()


def test_the_diff_of_a_big_conflict_is_shown_without_reading_it_whole(
    big: tuple[Path, Path, Plan],
) -> None:
    source, target, plan = big
    diffs = in_child(
        """
        from praxis_upgrade.content.diffs import entry_diffs
        from praxis_upgrade.content.plan import PlanEntry
        from praxis_upgrade.source.repo import SourceRepo
        """,
        "entry_diffs(PlanEntry.from_json(args['entry']), Path(args['target']), "
        "SourceRepo(args['source']))",
        target=str(target),
        source=str(source),
        entry=plan.entries[1].to_json(),
    )
    assert set(diffs) == {"yours", "upstream"}
    assert all(f"{CONFLICT} differ" in d for d in diffs.values()), diffs
