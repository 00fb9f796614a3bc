"""Build every release's file tree (source-relative path -> bytes) from a seed and a scale."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from praxis_upgrade.demo import source_shape
from praxis_upgrade.demo import texts as c
from praxis_upgrade.demo.releases import RELEASES, WORKFLOW_RENAMES, Release
from praxis_upgrade.demo.server_files import build_index_script, package_files

Files = dict[str, bytes]

STD = "universal/standards/"
WF = "universal/workflows/"
USAGE = "universal/usage/"


@dataclass
class _Workflow:
    name: str
    phases: list[list[str]]  # task slugs per phase
    gates_from: dict[int, int] = field(
        default_factory=dict
    )  # phase -> release index adding its gate


class History:
    """Generates v1.3.0 from scratch, then applies each release's kinds of change."""

    def __init__(self, scale: float, seed: int) -> None:
        self.scale, self.seed = scale, seed
        self.rng = c.rng_for("history", seed, scale)
        self.files: dict[str, str | bytes] = {}
        self.workflows: dict[str, _Workflow] = {}
        self._slugs: set[str] = set()

    def n(self, base: float) -> int:
        return max(1, round(base * self.scale))

    def unique_slug(self, parts: int = 3) -> str:
        for attempt in range(40):
            s = c.slug(self.rng, parts)
            if attempt >= 20:  # the word space is small: disambiguate instead of looping forever
                s = f"{s}-{len(self._slugs)}"
            if s not in self._slugs:
                self._slugs.add(s)
                return s
        raise RuntimeError("could not make a unique slug")

    # ---- generation -------------------------------------------------------------------------
    def md(self, path: str, heading: str, median: float, sigma: float = 1.0) -> None:
        rng = c.rng_for(self.seed, path)
        self.files[path] = c.markdown_doc(rng, heading, c.sample_size(rng, median, sigma=sigma))

    def standards(self, rel: Release) -> None:
        for category, count in source_shape.CATEGORIES.items():
            category = rel.meta_dir if category == "meta" else category
            names = list(source_shape.NAMED_STANDARDS.get(category, ()))
            while len(names) < self.n(count):
                names.append(self.unique_slug())
            for name in names:
                self.md(f"{STD}{category}/{name}.md", name.replace("-", " ").title(), 14000)
        self.md(f"{STD}ai-assistant/{rel.process_doc}.md", "Agent OS Development Process", 9000)
        self.files[f"{STD}installation/gitignore-requirements.md"] = source_shape.GITIGNORE_STANDARD
        text = c.markdown_doc(c.rng_for(self.seed, "crlf"), "Windows Setup", 2500)
        self.files[f"{STD}installation/windows-setup.md"] = text.replace("\n", "\r\n")
        rng = c.rng_for(self.seed, "unicode")
        self.files[f"{STD}documentation/café-style-guide.md"] = (
            "# Café style guide — naïve résumé of tone\n\nÜmlauts, ñ, 日本語 and ✓ must survive "
            "byte-for-byte.\n\n" + c.markdown_doc(rng, "Details", 3000, keywords=False)
        )
        for name in source_shape.USAGE_DOCS:
            self.md(f"{USAGE}{name}.md", name.replace("-", " ").title(), 3000)

    def add_workflow(self, name: str, rel_index: int, shape: str | None = None) -> None:
        tasks, core, support = source_shape.WORKFLOW_SHAPES[shape or name]
        small = min(self.scale, 1)  # scale > 1 adds whole workflows instead (see build_history)
        wf = _Workflow(
            name, [[self.unique_slug(2) for _ in range(max(1, round(t * small)))] for t in tasks]
        )
        wf.gates_from = {p: rel_index for p in range(len(tasks))}
        if name == "workflow_creation_v1":  # its last two gates arrive in v1.5.0
            wf.gates_from.update({len(tasks) - 1: 2, len(tasks) - 2: 2})
        self.workflows[name] = wf
        root = f"{WF}{name}/"
        self.md(root + "README.md", name.replace("_", " ").title(), 3500)
        for p, slugs in enumerate(wf.phases):
            self.md(f"{root}phases/{p}/phase.md", f"Phase {p}: {c.title(self.rng)}", 1800)
            for k, s in enumerate(slugs, 1):
                self.md(
                    f"{root}phases/{p}/task-{k}-{s}.md", f"Task {k}: {s.replace('-', ' ')}", 1200
                )
        for _ in range(max(1, round(core * small))):
            self.md(f"{root}core/{self.unique_slug(2)}.md", c.title(self.rng), 3000)
        for _ in range(round(support * small)):
            self.md(f"{root}supporting-docs/{self.unique_slug(2)}.md", c.title(self.rng), 2500)
        if name == "spec_creation_v1":
            self.files[root + "supporting-docs/architecture-diagram.png"] = c.png_bytes(
                24, 16, self.seed
            )
        if name == "spec_execution_v1":
            self.md(root + "phases/dynamic/phase-template.md", "Dynamic phase template", 1500)
            self.md(root + "phases/dynamic/task-template.md", "Dynamic task template", 1200)

    def sync_workflow_meta(self, rel_index: int) -> None:
        """(Re)write metadata.json and gates from each workflow's phase/task structure."""
        for name, wf in self.workflows.items():
            root = f"{WF}{name}/"
            rng = c.rng_for(self.seed, name, "meta")
            phases = [
                {
                    "phase_number": p,
                    "phase_name": f"Phase {p}",
                    "phase_file": f"phases/{p}/phase.md",
                    "tasks": [f"task-{k}-{s}.md" for k, s in enumerate(slugs, 1)],
                    "purpose": c.sentence(rng),
                    "checkpoint": f"phases/{p}/gate-definition.yaml",
                }
                for p, slugs in enumerate(wf.phases)
            ]
            self.files[root + "metadata.json"] = c.workflow_metadata(name, "1.0.0", phases, rng)
            for p, since in wf.gates_from.items():
                gate = f"{root}phases/{p}/gate-definition.yaml"
                if since <= rel_index and gate not in self.files:
                    self.files[gate] = c.gate_yaml(c.rng_for(self.seed, gate), p, f"Phase {p}")

    def server(self) -> None:
        for name in source_shape.server_padding(self.scale):
            rng = c.rng_for(self.seed, name)
            self.files[name] = c.python_module(
                rng, name.rsplit("/", 1)[-1], c.sample_size(rng, 7000, sigma=0.9)
            )
        self.md("mcp_server/README.md", "prAxIs OS MCP Server", 6000)
        self.md("mcp_server/.cursor/rules/server-development.mdc", "Server development rules", 2000)

    def scripts(self) -> None:
        for name in source_shape.script_names(self.scale):
            rng = c.rng_for(self.seed, name)
            size = c.sample_size(rng, 8000, sigma=0.8)
            if name.endswith(".sh"):
                self.files[name] = c.shell_script(rng, name, size)
            elif name.endswith(".md"):
                self.md(name, "Pre-commit hooks", 2500)
            else:
                self.files[name] = c.python_module(rng, name, size)

    # ---- releases ------------------------------------------------------------------------
    def evolve(self, prev: Release, rel: Release, idx: int) -> None:
        rng = c.rng_for(self.seed, "evolve", rel.tag)
        self._edit_some(
            rng, [p for p in self.files if p.startswith(STD) and p.endswith(".md")], 0.15
        )
        self._edit_some(
            rng, [p for p in self.files if p.startswith(WF) and p.endswith(".md")], 0.30
        )
        gates = [p for p in self.files if p.startswith(WF) and p.endswith(".yaml")]
        for gate in rng.sample(sorted(gates), max(1, len(gates) // 4)):
            self.files[gate] = c.gate_yaml(c.rng_for(self.seed, gate, rel.tag), 0, "revised")
        # standards: one added, one removed (never a named/special one)
        category = rng.choice(sorted(k for k in source_shape.CATEGORIES if k != "meta"))
        for _ in range(self.n(1)):
            self.md(f"{STD}{category}/{self.unique_slug()}.md", c.title(rng), 9000)
        removable = sorted(
            p for p in self.files if p.startswith(STD) and not source_shape.is_named(p)
        )
        del self.files[rng.choice(removable)]
        # workflows: a task added in one, a task removed in another
        names = sorted(self.workflows)
        grow, shrink = self.workflows[rng.choice(names)], self.workflows[rng.choice(names)]
        phase = rng.randrange(len(grow.phases))
        grow.phases[phase].append(self.unique_slug(2))
        k = len(grow.phases[phase])
        self.md(
            f"{WF}{grow.name}/phases/{phase}/task-{k}-{grow.phases[phase][-1]}.md",
            f"Task {k}",
            1500,
        )
        phase = max(range(len(shrink.phases)), key=lambda i: len(shrink.phases[i]))
        k = len(shrink.phases[phase])
        if k > 1:
            del self.files[
                f"{WF}{shrink.name}/phases/{phase}/task-{k}-{shrink.phases[phase].pop()}.md"
            ]
        for name in rel.workflows:
            if name not in self.workflows and name not in WORKFLOW_RENAMES.values():
                self.add_workflow(name, idx)
        for old, new in WORKFLOW_RENAMES.items():
            if old in self.workflows and new in rel.workflows:
                self._move(f"{WF}{old}/", f"{WF}{new}/")
                wf = self.workflows.pop(old)
                wf.name = new
                self.workflows[new] = wf
        if prev.meta_dir != rel.meta_dir:
            self._move(f"{STD}{prev.meta_dir}/", f"{STD}{rel.meta_dir}/")
        if prev.process_doc != rel.process_doc:
            self._move(
                f"{STD}ai-assistant/{prev.process_doc}.md",
                f"{STD}ai-assistant/{rel.process_doc}.md",
            )
        if prev.has_usage and not rel.has_usage:
            self._move(f"{USAGE}mcp-usage-guide.md", f"{STD}ai-assistant/mcp-usage-guide.md")
            merged = self.files.pop(f"{USAGE}operating-model.md")
            assert isinstance(merged, str)
            self.files[f"{STD}ai-assistant/operating-model.md"] = c.edit_markdown(rng, merged)
            for p in [p for p in self.files if p.startswith(USAGE)]:
                del self.files[p]
        self._evolve_code(rng, rel)

    def _evolve_code(self, rng: random.Random, rel: Release) -> None:
        padding = sorted(
            p
            for p in self.files
            if p.startswith("mcp_server/")
            and p.endswith(".py")
            and p not in source_shape.STABLE_SERVER
        )
        for p in rng.sample(padding, max(1, len(padding) // 5)):
            text = self.files[p]
            assert isinstance(text, str)
            self.files[p] = (
                text + f"\n\ndef {rel.tag.replace('.', '_')}_compat():\n    return True\n"
            )
        if rel.tag == "v1.4.0":
            for name in source_shape.UPGRADE_COMPONENTS:
                rng2 = c.rng_for(self.seed, name)
                self.files[name] = c.python_module(rng2, name, c.sample_size(rng2, 9000, sigma=0.5))
        if rel.tag == "v1.5.0":
            self.files.pop("mcp_server/server/tools/dispatcher.py", None)
        scripts = sorted(
            p
            for p in self.files
            if p.startswith("scripts/") and p.endswith(".py") and p != "scripts/build_rag_index.py"
        )
        for p in rng.sample(scripts, min(2, len(scripts))):
            self.files[p] = str(self.files[p]) + f"\n# {rel.tag}: {c.sentence(rng, 6)}\n"

    def _edit_some(self, rng: random.Random, paths: list[str], rate: float) -> None:
        candidates = sorted(p for p in paths if not source_shape.is_frozen(p))
        for p in rng.sample(candidates, max(1, round(len(candidates) * rate))):
            text = self.files[p]
            assert isinstance(text, str)
            self.files[p] = c.edit_markdown(c.rng_for(self.seed, p, rng.random()), text)

    def _move(self, old: str, new: str) -> None:
        for p in [p for p in self.files if p == old or p.startswith(old)]:
            self.files[new + p[len(old) :]] = self.files.pop(p)

    def snapshot(self, rel: Release) -> Files:
        out: Files = {}
        generated: dict[str, str | bytes] = dict(package_files(rel))
        generated["scripts/build_rag_index.py"] = build_index_script(rel)
        generated.update(source_shape.root_files(rel, self.seed))
        for p, data in {**self.files, **generated}.items():
            out[p] = data.encode("utf-8") if isinstance(data, str) else data
        return out


def build_history(scale: float = 1, seed: int = 0) -> list[tuple[Release, Files]]:
    """Every release with its complete file tree, oldest first."""
    h = History(scale, seed)
    first = RELEASES[0]
    h.standards(first)
    for name in first.workflows:
        h.add_workflow(name, 0)
    shapes = sorted(source_shape.WORKFLOW_SHAPES)
    for i in range(max(0, round(len(shapes) * (scale - 1)))):
        h.add_workflow(f"extra_{i:03d}_flow_v1", 0, shape=shapes[i % len(shapes)])
    h.sync_workflow_meta(0)
    h.server()
    h.scripts()
    out = [(first, h.snapshot(first))]
    for idx in range(1, len(RELEASES)):
        h.evolve(RELEASES[idx - 1], RELEASES[idx], idx)
        h.sync_workflow_meta(idx)
        out.append((RELEASES[idx], h.snapshot(RELEASES[idx])))
    return out
