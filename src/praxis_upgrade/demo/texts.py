"""Deterministic text generators: markdown, YAML gates, JSON metadata, Python/shell padding,
PNGs."""

from __future__ import annotations

import json
import math
import random
import struct
import zlib

_NOUNS = (
    "agent standard workflow phase task checkpoint evidence gate query index chunk session "
    "spec review contract invariant module server tool transport request response schema "
    "lock retry timeout backoff queue worker thread handler cache budget baseline snapshot "
    "rollback deployment test fixture assertion coverage dependency interface boundary "
    "context prompt token source target manifest version release changelog decision"
).split()
_VERBS = (
    "validate document verify enforce capture record query design review measure isolate "
    "refactor reproduce inspect restore retry compare escalate summarise index load publish"
).split()
_ADJS = (
    "explicit deterministic idempotent atomic concurrent minimal observable stable "
    "backward-compatible structured systematic reviewed bounded portable local upstream"
).split()
_GLUE = "the a each every this that before after when while with without for and or but".split()


def rng_for(*parts: object) -> random.Random:
    """A Random seeded from the joined parts (str seeds are stable across processes)."""
    return random.Random(":".join(str(p) for p in parts))


def sample_size(
    rng: random.Random, median: float, *, sigma: float = 1.39, lo: int = 280, hi: int = 41_000
) -> int:
    """Log-normal size in bytes, clipped; sigma 1.39 gives p90 ~ 5.9 x median (upstream)."""
    return int(min(hi, max(lo, median * math.exp(rng.gauss(0.0, sigma)))))


def sentence(rng: random.Random, n: int | None = None) -> str:
    n = n or rng.randint(7, 18)
    words = [rng.choice(_NOUNS if i % 3 else _GLUE + _VERBS) for i in range(n)]
    words.insert(rng.randrange(1, n), rng.choice(_ADJS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def slug(rng: random.Random, parts: int = 3) -> str:
    pool = (_ADJS, _NOUNS, _VERBS)
    return "-".join(rng.choice(pool[i % 3]) for i in range(parts))


def title(rng: random.Random) -> str:
    return " ".join(
        w.capitalize() for w in (rng.choice(_ADJS), rng.choice(_NOUNS), rng.choice(_NOUNS))
    )


def _block(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return paragraph(rng)
    if kind < 0.7:
        return "\n".join(f"- {sentence(rng, rng.randint(4, 10))}" for _ in range(rng.randint(3, 7)))
    if kind < 0.85:
        lines = [
            f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}({rng.choice(_NOUNS)}={rng.randint(1, 99)})"
            for _ in range(rng.randint(2, 6))
        ]
        return "```python\n" + "\n".join(lines) + "\n```"
    rows = [
        f"| {rng.choice(_NOUNS)} | {rng.choice(_ADJS)} | {rng.randint(1, 500)} |"
        for _ in range(rng.randint(2, 5))
    ]
    return "| Item | Property | Value |\n|---|---|---|\n" + "\n".join(rows)


def markdown_doc(rng: random.Random, heading: str, size: int, *, keywords: bool = True) -> str:
    """Markdown with a title, a 'Keywords for search' line, sections, lists, fences, tables."""
    parts = [f"# {heading}", ""]
    if keywords:
        parts += [f"**Keywords for search**: {', '.join(rng.sample(_NOUNS, 6))}", ""]
    parts += ["## TL;DR", "", paragraph(rng), ""]
    length = sum(len(p) + 1 for p in parts)
    while length < size:
        section = [f"## {title(rng)}", ""]
        for _ in range(rng.randint(1, 3)):
            section += [_block(rng), ""]
        parts += section
        length += sum(len(p) + 1 for p in section)
    return "\n".join(parts).rstrip() + "\n"


def edit_markdown(rng: random.Random, text: str) -> str:
    """An upstream-style edit: rewrite one or two prose lines in place, sometimes add a section."""
    lines = text.split("\n")
    prose = [i for i, line in enumerate(lines) if len(line) > 40 and line[:1].isalpha()]
    for i in rng.sample(prose, min(len(prose), rng.randint(1, 2))):
        lines[i] = paragraph(rng)
    if rng.random() < 0.4:
        lines[-1:] = ["", f"## {title(rng)}", "", paragraph(rng), ""]
    return "\n".join(lines)


def gate_yaml(rng: random.Random, phase: int, phase_name: str) -> str:
    fields = rng.sample(_NOUNS, rng.randint(2, 5))
    out = [
        f"# Gate definition for phase {phase}: {phase_name}",
        "checkpoint:",
        f"  strict: {str(rng.random() < 0.6).lower()}",
        f"  allow_override: {str(rng.random() < 0.5).lower()}",
        "evidence_schema:",
    ]
    for f in fields:
        ftype = rng.choice(["boolean", "integer", "string", "list"])
        out += [
            f"  {f}_{rng.choice(_VERBS)}:",
            f"    type: {ftype}",
            f"    required: {str(rng.random() < 0.7).lower()}",
            f'    description: "{sentence(rng, 6)}"',
        ]
    out += [
        "validators:",
        f"  - name: {rng.choice(_VERBS)}_{rng.choice(_NOUNS)}",
        f'    rule: "{rng.choice(fields)} != null"',
    ]
    return "\n".join(out) + "\n"


def workflow_metadata(
    name: str, version: str, phases: list[dict[str, object]], rng: random.Random
) -> str:
    meta = {
        "workflow_type": name.rsplit("_v", 1)[0],
        "version": version,
        "name": name,
        "description": sentence(rng),
        "author": "prAxIs OS Team",
        "total_phases": len(phases),
        "estimated_duration": f"{rng.randint(1, 6)}-{rng.randint(7, 12)} hours",
        "primary_outputs": [f"{rng.choice(_NOUNS)}.md" for _ in range(3)],
        "dynamic_phases": name.startswith("spec_execution"),
        "start_phase": 0,
        "phases": phases,
    }
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def python_module(rng: random.Random, name: str, size: int) -> str:
    """Valid, never-imported Python that looks like server code."""
    out = [
        f'"""{name}: {sentence(rng, 8)}"""',
        "",
        "import logging",
        "",
        "logger = logging.getLogger(__name__)",
        "",
    ]
    length = sum(len(x) + 1 for x in out)
    while length < size:
        cls = "".join(
            w.capitalize()
            for w in (rng.choice(_ADJS).replace("-", "_").split("_")[0], rng.choice(_NOUNS))
        )
        block = ["", f"class {cls}:", f'    """{sentence(rng)}"""', ""]
        for _ in range(rng.randint(2, 5)):
            fn = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"
            arg = rng.choice(_NOUNS)
            block += [
                f"    def {fn}(self, {arg}, limit={rng.randint(1, 100)}):",
                f'        """{sentence(rng)}"""',
                f'        logger.debug("{fn} %s", {arg})',
                f"        if not {arg}:",
                "            return None",
                f"        return [{arg}] * min(limit, {rng.randint(1, 9)})",
                "",
            ]
        out += block
        length += sum(len(x) + 1 for x in block)
    return "\n".join(out).rstrip() + "\n"


def shell_script(rng: random.Random, name: str, size: int) -> str:
    out = ["#!/usr/bin/env bash", f"# {name}: {sentence(rng, 8)}", "set -euo pipefail", ""]
    while sum(len(x) + 1 for x in out) < size:
        var = rng.choice(_NOUNS).upper()
        out += [
            f'{var}="${{{var}:-{rng.choice(_NOUNS)}}}"',
            f'if [ -n "${var}" ]; then',
            f'  echo "{sentence(rng, 6)}" >&2',
            "fi",
            "",
        ]
    out.append("exit 0")
    return "\n".join(out) + "\n"


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A small valid RGB PNG (binary fixture)."""
    rng = random.Random(seed)
    raw = b"".join(
        b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
