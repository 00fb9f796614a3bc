"""User customisations applied to a fresh install: edits, a true conflict, deletes, user files."""

from __future__ import annotations

import difflib
import json
import random
from pathlib import Path

from praxis_upgrade.demo import texts as c

Tree = dict[str, bytes]

_APPEND = "\n## Team notes\n\n- We also run this check in CI before merging.\n"
_HOTFIX_ANCHOR = "logger = logging.getLogger(__name__)\n"
_HOTFIX = (
    "logger = logging.getLogger(__name__)  # HOTFIX(team): quieter logs\n"
    "logger.setLevel(logging.WARNING)\n"
)


def _plain(tree: Tree, path: str) -> bool:
    data = tree[path]
    return path.isascii() and b"\r" not in data


def _conflicting_edit(old: bytes, new: bytes) -> bytes | None:
    """Change the first line that upstream replaces, so a 3-way merge must conflict."""
    a = old.decode().splitlines(keepends=True)
    b = new.decode().splitlines(keepends=True)
    for tag, i1, _i2, _j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace" and a[i1].strip():
            a[i1] = a[i1].rstrip("\n") + " Our team rewrote this sentence locally.\n"
            return "".join(a).encode()
    return None


def apply_user_edits(
    praxis: Path, tree: Tree, nxt: Tree | None, seed: int
) -> tuple[dict[str, str], list[str]]:
    """Mutate `praxis` (installed from `tree`); `nxt` is the next release's tree, if any.

    Returns (user_edits: path -> kind, user_files: paths created).
    """
    rng = random.Random(f"edits:{seed}")
    edits: dict[str, str] = {}

    def untouched_next(p: str) -> bool:
        return nxt is None or nxt.get(p) == tree[p]

    stds = sorted(
        p
        for p in tree
        if p.startswith("standards/universal/") and p.endswith(".md") and _plain(tree, p)
    )
    changed = [p for p in stds if nxt is not None and p in nxt and nxt[p] != tree[p]]
    rng.shuffle(changed)
    for p in changed:
        assert nxt is not None
        edited = _conflicting_edit(tree[p], nxt[p])
        if edited is not None:
            (praxis / p).write_bytes(edited)
            edits[p] = "edit-conflict"
            break
    stable = [p for p in stds if untouched_next(p) and p not in edits]
    rng.shuffle(stable)
    edited_std, deleted = stable[0], stable[1]
    (praxis / edited_std).write_bytes(tree[edited_std] + _APPEND.encode())
    edits[edited_std] = "edit"
    (praxis / deleted).unlink()
    edits[deleted] = "delete"
    tasks = sorted(
        p for p in tree if p.startswith("workflows/") and "/task-" in p and untouched_next(p)
    )
    task = rng.choice(tasks)
    (praxis / task).write_bytes(
        tree[task] + b"\n> Team: pair on this task; ping #platform first.\n"
    )
    edits[task] = "edit"
    engine = "mcp_server/rag_engine.py"
    text = tree[engine].decode()
    (praxis / engine).write_text(text.replace(_HOTFIX_ANCHOR, _HOTFIX, 1), encoding="utf-8")
    edits[engine] = "hotfix"
    return edits, _user_files(praxis, seed)


def _user_files(praxis: Path, seed: int) -> list[str]:
    rng = c.rng_for(seed, "user-files")
    flow = "workflows/my_team_flow_v1/"
    meta = {
        "workflow_type": "my_team_flow",
        "version": "0.1.0",
        "name": "my_team_flow_v1",
        "description": "Our release checklist",
        "author": "team",
        "total_phases": 1,
        "start_phase": 0,
        "phases": [{"phase_number": 0, "phase_name": "Kickoff", "tasks": ["task-1-kickoff.md"]}],
    }
    files: dict[str, bytes | str] = {
        flow + "metadata.json": json.dumps(meta, indent=2) + "\n",
        flow + "README.md": c.markdown_doc(rng, "My team flow", 1200),
        flow + "phases/0/phase.md": c.markdown_doc(rng, "Phase 0: Kickoff", 800),
        flow + "phases/0/task-1-kickoff.md": c.markdown_doc(rng, "Task 1: kickoff", 600),
        flow + "phases/0/gate-definition.yaml": c.gate_yaml(rng, 0, "Kickoff"),
        "workflows/.temp-team-flow-definition.yaml": "name: my_team_flow_v1\nphases: 1\n",
        "standards/universal/testing/team-test-conventions.md": c.markdown_doc(
            rng, "Team test conventions", 1500
        ),
        "standards/validation/release-checklist.md": c.markdown_doc(rng, "Release checklist", 1500),
        "workspace/analysis/notes.md": c.markdown_doc(rng, "Analysis notes", 900),
        "workspace/scratch/whiteboard.png": c.png_bytes(32, 32, seed + 1),
        "specs/review/2025-11-02-naïve-cache/notes-résumé.md": (
            "# Résumé — naïve cache\n\nDraft ✓\n"
        ),
    }
    for doc in ("README", "srd", "specs", "tasks"):
        files[f"specs/approved/2025-10-20-payment-retries/{doc}.md"] = c.markdown_doc(
            rng, doc.upper(), 2000
        )
    for rel_path, data in files.items():
        dest = praxis / rel_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return sorted(files)
