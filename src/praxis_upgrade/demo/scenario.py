"""A ready-made demo: a fake praxis-os clone plus a customised project installed from v1.5.0."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from praxis_upgrade.demo.fake_source import Source, make_source
from praxis_upgrade.demo.fake_target import Target, make_target

DEMO_VERSION = "v1.5.0"


@dataclass(frozen=True)
class Demo:
    """`source` is at `<dir>/praxis-os` (newest tag checked out), `target` at `<dir>/my-project`."""

    source: Source
    target: Target


def make_demo(dir: Path, *, scale: float = 1, seed: int = 0) -> Demo:
    """Build the demo in `dir`: upgrading `target` to `source` has one true conflict, user files,
    renamed/removed upstream files, renamed tools, `--transport` now required and a fakedep bump.
    """
    dir = Path(dir)
    source = make_source(dir / "praxis-os", scale=scale, seed=seed)
    target = make_target(
        dir / "my-project", source, version=DEMO_VERSION, edits=True, venv=True, seed=seed
    )
    return Demo(source=source, target=target)
