"""Example plugin: a required validation check that every workflow's metadata.json is usable.

The praxis server loads ``workflows/<wf>/metadata.json``; a file that no longer parses, or that
names phase files that do not exist, breaks that workflow for every assistant. A required check
that fails makes praxis-upgrade roll the upgrade back.
"""

from __future__ import annotations

import json
from typing import Any

from praxis_upgrade import hookimpl


def _problems(workflow_dir: Any) -> list[str]:
    meta = workflow_dir / "metadata.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"{meta.relative_to(workflow_dir.parent.parent)}: {e}"]
    problems = []
    for phase in data.get("phases", []) if isinstance(data, dict) else []:
        name = phase.get("phase_file") or phase.get("file") if isinstance(phase, dict) else None
        if (
            name
            and not (workflow_dir / name).exists()
            and not (workflow_dir / "phases" / name).exists()
        ):
            problems.append(f"{workflow_dir.name}: phase file {name} is missing")
    return problems


@hookimpl
def praxis_validate(ctx: Any) -> list[dict[str, Any]]:
    workflows = ctx.target / "workflows"
    dirs = (
        sorted(p for p in workflows.iterdir() if (p / "metadata.json").exists())
        if workflows.is_dir()
        else []
    )
    problems = [p for d in dirs for p in _problems(d)]
    return [
        {
            "name": "workflow metadata",
            "required": True,
            "ok": not problems,
            "detail": "; ".join(problems) if problems else f"{len(dirs)} workflows valid",
        }
    ]
