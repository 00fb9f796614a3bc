"""JSON with comments and trailing commas (VS Code's format): parse it, and edit it as text."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from json import decoder
from typing import Any

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
INDENT = 4
scanstring: Callable[[str, int, bool], tuple[str, int]] = getattr(decoder, "scanstring")  # noqa: B009


class JsoncError(ValueError):
    """The text is not JSONC; `line` and `column` (1-based) say where."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        self.line = text.count("\n", 0, pos) + 1
        self.column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        self.pos = pos
        super().__init__(f"{message} at line {self.line} column {self.column}")


@dataclasses.dataclass
class Member:
    """Where one member of the top-level object sits in the text (end offsets exclusive)."""

    start: int  # the key's opening quote
    value_start: int
    value_end: int
    items: list[tuple[int, int]] | None = None  # spans of the elements when the value is an array


@dataclasses.dataclass
class Document:
    """Parsed JSONC: the data, plus the spans needed to edit the top-level object in place."""

    text: str
    data: Any
    members: dict[str, Member]
    close: int = -1  # offset of the top-level object's closing brace (-1: not an object)
    comments: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # spans, in order

    @property
    def has_comments(self) -> bool:
        return bool(self.comments)

    def comment_texts(self) -> list[str]:
        return [self.text[s:e] for s, e in self.comments]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.comments: list[tuple[int, int]] = []
        self.members: dict[str, Member] = {}
        self.close = -1

    def fail(self, message: str) -> JsoncError:
        return JsoncError(message, self.text, self.pos)

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            if text[self.pos] in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                end = n if end < 0 else end - (text[end - 1] == "\r")
                self.comments.append((self.pos, end))
                self.pos = end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated /* comment")
                self.comments.append((self.pos, end + 2))
                self.pos = end + 2
            else:
                return

    def value(self, top: bool = False) -> tuple[Any, list[tuple[int, int]] | None]:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of text")
        c = self.text[self.pos]
        if c == "{":
            return self.obj(top), None
        if c == "[":
            return self.array()
        if c == '"':
            s, self.pos = scanstring(self.text, self.pos + 1, False)
            return s, None
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return json.loads(m.group()), None
        for word, val in _LITERALS.items():
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return val, None
        raise self.fail(f"unexpected {c!r}")

    def obj(self, top: bool) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                break
            if not self.text.startswith('"', self.pos):
                raise self.fail("expected a string key")
            start = self.pos
            key, self.pos = scanstring(self.text, self.pos + 1, False)
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            self.skip()
            value_start = self.pos
            out[key], items = self.value()
            if top:
                self.members[key] = Member(start, value_start, self.pos, items)
            if not self.separator("}"):
                break
        if top:
            self.close = self.pos
        self.pos += 1
        return out

    def array(self) -> tuple[list[Any], list[tuple[int, int]]]:
        self.pos += 1
        out, spans = [], []
        while True:
            self.skip()
            if self.text.startswith("]", self.pos):
                break
            self.skip()
            start = self.pos
            out.append(self.value()[0])
            spans.append((start, self.pos))
            if not self.separator("]"):
                break
        self.pos += 1
        return out, spans

    def separator(self, closer: str) -> bool:
        """Consume a ',' (True: more may follow) or stop before `closer` (False)."""
        self.skip()
        if self.text.startswith(",", self.pos):
            self.pos += 1
            return True
        if self.text.startswith(closer, self.pos):
            return False
        raise self.fail(f"expected ',' or {closer!r}")


def parse(text: str) -> Document:
    """Parse JSONC (// and /* */ comments outside strings, trailing commas).

    Raises:
        JsoncError: with the line and column of the first problem.
    """
    p = _Parser(text)
    data, _ = p.value(top=True)
    p.skip()
    if p.pos != len(text):
        raise p.fail("unexpected text after the value")
    return Document(text, data, p.members, p.close, p.comments)


def loads(text: str) -> Any:
    return parse(text).data


def _indent_at(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    return prefix if not prefix.strip() else ""


def _dump(value: Any, indent: str) -> str:
    return json.dumps(value, indent=INDENT, ensure_ascii=False).replace("\n", "\n" + indent)


def newline(text: str) -> str:
    """The text's line ending: that of its first line (a new or one-line text gets "\\n")."""
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace spans (from the end backwards, so offsets stay valid), in the text's own line
    endings."""
    eol = newline(text)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new.replace("\n", eol) + text[end:]
    return text


def add_member(doc: Document, key: str, value: Any) -> str:
    """Text with `"key": value` added as the last member of the top-level object."""
    last = max(doc.members.values(), key=lambda m: m.value_end, default=None)
    indent = _indent_at(doc.text, last.start) if last else " " * INDENT
    new = f"\n{indent}{json.dumps(key)}: {_dump(value, indent)}"
    if last is None:
        return _splice(doc.text, [(doc.close, doc.close, new + "\n")])
    return _splice(doc.text, [(last.value_end, last.value_end, "," + new)])


def _item_indent(doc: Document, member: Member) -> str:
    assert member.items is not None
    if member.items:
        return _indent_at(doc.text, member.items[0][0])
    return _indent_at(doc.text, member.start) + " " * INDENT


def append_items(doc: Document, key: str, values: list[Any]) -> str:
    """Text with `values` appended to the top-level array `key`."""
    member = doc.members[key]
    assert member.items is not None
    indent = _item_indent(doc, member)
    body = ",".join(f"\n{indent}{_dump(v, indent)}" for v in values)
    if member.items:
        return _splice(doc.text, [(member.items[-1][1], member.items[-1][1], "," + body)])
    inner = doc.text[member.value_start + 1 : member.value_end - 1]
    tail = "" if "\n" in inner else "\n" + _indent_at(doc.text, member.start)
    return _splice(doc.text, [(member.value_start + 1, member.value_start + 1, body + tail)])


def replace_items(doc: Document, key: str, values: dict[int, Any]) -> str:
    """Text with elements of the top-level array `key` replaced, by index."""
    member = doc.members[key]
    assert member.items is not None
    indent = _item_indent(doc, member)
    return _splice(doc.text, [(*member.items[i], _dump(v, indent)) for i, v in values.items()])


def remove_items(doc: Document, key: str, indices: set[int]) -> str:
    """Text without the given elements of the top-level array `key`: each goes with its comma
    (and its lines when it has them to itself); comments between elements stay, and no trailing
    comma appears that was not there."""
    items = doc.members[key].items
    assert items is not None
    return _splice(doc.text, _removals(doc.text, items, indices))


def remove_member(doc: Document, key: str) -> str:
    """Text without the member `key` of the top-level object (removed as an element is)."""
    spans = sorted((m.start, m.value_end) for m in doc.members.values())
    member = doc.members[key]
    return _splice(
        doc.text, _removals(doc.text, spans, {spans.index((member.start, member.value_end))})
    )


def comments_within(doc: Document, start: int, end: int) -> bool:
    return any(start <= s and e <= end for s, e in doc.comments)


def _removals(
    text: str, spans: list[tuple[int, int]], indices: set[int]
) -> list[tuple[int, int, str]]:
    """The edits that remove the elements `indices` of a list whose elements are at `spans`."""
    edits = [edit for i in sorted(indices) for edit in _removal(text, spans[i])]
    kept = [i for i in range(len(spans)) if i not in indices]
    last = len(spans) - 1
    if last in indices and kept and kept[-1] < last and _comma_after(text, spans[last]) is None:
        edits.append(_comma_removal(text, spans[kept[-1]], edits))
    return edits


def _removal(text: str, item: tuple[int, int]) -> list[tuple[int, int, str]]:
    """The edits that remove one element and the comma after it (if any)."""
    start, end = item
    comma = _comma_after(text, item)
    if comma is not None and text[end:comma].strip():  # a comment sits before the comma
        return [(start, end, ""), (comma, comma + 1, "")]
    if comma is not None:
        end = comma + 1
    rest = len(text) - len(text[end:].lstrip(" \t"))
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip() and text.startswith(("\n", "\r\n"), rest):
        return [(line_start, text.index("\n", rest) + 1, "")]  # its lines, whole
    return [(start, rest if comma is not None else end, "")]


def _comma_after(text: str, item: tuple[int, int]) -> int | None:
    """Where the comma after an element is, if one follows it (only comments between)."""
    p = _Parser(text)
    p.pos = item[1]
    p.skip()
    return p.pos if text.startswith(",", p.pos) else None


def _comma_removal(
    text: str, survivor: tuple[int, int], edits: list[tuple[int, int, str]]
) -> tuple[int, int, str]:
    """Remove the comma after the new last element, with the blanks up to the removed text."""
    comma = _comma_after(text, survivor)
    assert comma is not None
    blank = len(text) - len(text[comma + 1 :].lstrip(" \t"))
    return comma, blank if any(s == blank for s, _e, _n in edits) else comma + 1, ""
