"""The project's `.gitignore`: one marked block holding the entries prAxIs OS needs ignored."""

from __future__ import annotations

import re
from pathlib import Path

from praxis_upgrade.util import fs

BEGIN = "# >>> praxis-upgrade (managed) >>>"
END = "# <<< praxis-upgrade <<<"
NOTE = "# entries prAxIs OS needs ignored; your own lines go outside this block"
STANDARD = "standards/universal/installation/gitignore-requirements.md"

#: Runtime paths of this tool. The baseline (`.praxis-os/.praxis-upgrade/baseline.json`) is NOT
#: ignored: it describes the committed install, so teammates share it; the remembered source
#: path beside it is machine-local and is ignored.
TOOL_ENTRIES = (
    ".praxis-os/.cache/",
    ".praxis-os/.backups/",
    ".praxis-os/.mcp_server_state.json",
    ".praxis-os/.praxis-upgrade/settings.json",
)

_HEADING = re.compile(r"^#{1,6}\s*required entries\b", re.IGNORECASE)
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


def parse_required(text: str) -> list[str]:
    """The patterns of the first fenced block under the "Required Entries" heading.

    Git reads ` # note` after a pattern as part of the pattern, so trailing comments are cut.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADING.match(line.strip())), None)
    if start is None:
        return []
    out: list[str] = []
    inside = False
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped.startswith("```"):
            if inside:
                break
            inside = True
            continue
        if stripped.startswith("#") and not inside:
            break  # the next heading: the section had no block
        if inside and stripped and not stripped.startswith("#"):
            out.append(_TRAILING_COMMENT.sub("", stripped))
    return out


def required_entries(target: Path) -> list[str]:
    """Entries from the installed standard plus this tool's own runtime paths, de-duplicated."""
    try:
        standard = parse_required((target / STANDARD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        standard = []
    return list(dict.fromkeys([*standard, *TOOL_ENTRIES]))


def _split(lines: list[str]) -> tuple[list[str], list[str], bool]:
    """(lines before our block, lines after it, whether a block was found)."""
    if BEGIN not in lines:
        return lines, [], False
    start = lines.index(BEGIN)
    try:
        end = lines.index(END, start)
    except ValueError:  # a damaged block: drop only our marker, keep every other line
        return lines[:start], lines[start + 1 :], True
    return lines[:start], lines[end + 1 :], True


def render(text: str, entries: list[str]) -> str:
    """`text` with the managed block holding the entries no user line already has."""
    newline = "\r\n" if "\r\n" in text else "\n"
    before, after, found = _split(text.splitlines())
    mine = {line.strip() for line in before + after}
    wanted = [e for e in dict.fromkeys(entries) if e.strip() and e.strip() not in mine]
    block = [BEGIN, NOTE, *wanted, END] if wanted else []
    if not found and block and before and before[-1].strip():
        block.insert(0, "")
    lines = before + block + after
    return newline.join(lines) + newline if lines else ""


def _current(project: Path) -> str:
    try:
        return (project / ".gitignore").read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return ""


def left_alone(project: Path, entries: list[str]) -> str | None:
    """What the user must add to a `.gitignore` we may not rewrite (`fs.kept_as_is`), and why;
    None when it can be written or already holds every entry."""
    text = _current(project)
    if render(text, entries) == text:
        return None
    why = fs.kept_as_is(project / ".gitignore")
    have = {line.strip() for line in text.splitlines()}
    missing = [e for e in entries if e not in have]
    if why is None or not missing:
        return None
    return f"{why}: add these lines to it by hand: {', '.join(missing)}"


def intended(project: Path, entries: list[str]) -> bytes | None:
    """The bytes `update_gitignore` would write into `<project>/.gitignore`, or None when it
    would change nothing (or may not rewrite it: `left_alone`)."""
    text = _current(project)
    new = render(text, entries)
    if new == text or fs.kept_as_is(project / ".gitignore"):
        return None
    return new.encode("utf-8", "surrogateescape")


def needs_update(project: Path, entries: list[str]) -> bool:
    """Whether `update_gitignore` would change `<project>/.gitignore`."""
    return intended(project, entries) is not None


def update_gitignore(project: Path, entries: list[str]) -> bool:
    """Write the managed block into `<project>/.gitignore`; False when nothing had to change or
    it is left alone (`left_alone` says why)."""
    path = project / ".gitignore"
    new = intended(project, entries)
    if new is None:
        return False
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fs.atomic_write_bytes(path, new, mode=mode)
    return True
