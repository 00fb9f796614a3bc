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
    has_comments: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.comments = text, 0, False
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
                self.pos, self.comments = (n if end < 0 else end), True
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated /* comment")
                self.pos, self.comments = end + 2, True
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


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace spans (from the end backwards, so offsets stay valid), in the text's own line
    endings."""
    crlf = "\r\n" in text
    for start, end, new in sorted(edits, reverse=True):
        new = new.replace("\n", "\r\n") if crlf else new
        text = text[:start] + new + text[end:]
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
    """Text without the given elements of the top-level array `key` (and their commas)."""
    member = doc.members[key]
    items = member.items
    assert items is not None
    kept = [i for i in range(len(items)) if i not in indices]
    if not kept:
        end = items[-1][1]
        rest = doc.text[end : member.value_end - 1]
        m = re.match(r"\s*,", rest)
        return _splice(doc.text, [(items[0][0], end + (m.end() if m else 0), "")])
    edits = [(items[0][0], items[kept[0]][0], "")] if kept[0] > 0 else []
    edits += [(items[i - 1][1], items[i][1], "") for i in indices if i > kept[0]]
    return _splice(doc.text, edits)
