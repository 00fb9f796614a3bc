"""Renders the hook reference (docs/hooks.md) from the hook specifications themselves."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from praxis_upgrade.engine.steps import PHASES, STEPS
from praxis_upgrade.plugin import spec

HEADER = """# Hook reference

Generated from `src/praxis_upgrade/plugin/spec.py` by
`python -m praxis_upgrade.engine.hookdocs > docs/hooks.md`;
a test fails when this file and the specs disagree.

Implement hooks with `@praxis_upgrade.hookimpl` and publish the module under the entry-point
group `praxis_upgrade`. Every hook receives `ctx` (`praxis_upgrade.engine.context.Context`:
`target`, `project`, `source`, `options`, `session`, `result(step, Type)`,
`record(step, result)`, `emit(...)`). Call order within a hook: installed plugins first (last
registered), built-in defaults last.

| step | phase | hook |
| --- | --- | --- |
"""


def spec_functions() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, fn)
        for name, fn in inspect.getmembers(spec, inspect.isfunction)
        if name.startswith("praxis_")
    ]


def render() -> str:
    out = [HEADER]
    out += [f"| `{s.name}` | {s.phase} {PHASES[s.phase]} | `{s.hook}` |\n" for s in STEPS]
    out.append(
        "| (on failure / `rollback`) | - | `praxis_rollback` |\n"
        "| (always, at the end) | - | `praxis_report` |\n"
    )
    order = {s.hook: i for i, s in enumerate(STEPS)}
    for name, fn in sorted(spec_functions(), key=lambda item: order.get(item[0], 99)):
        opts = getattr(fn, "praxis_upgrade_spec", {}) or {}
        kind = "first result" if opts.get("firstresult") else "collect"
        out.append(f"\n## `{name}{inspect.signature(fn)}`\n\n*{kind}*\n\n{inspect.getdoc(fn)}\n")
    return "".join(out)


if __name__ == "__main__":
    print(render(), end="")
