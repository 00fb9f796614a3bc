"""Read a big JSON object from a file member by member, never holding its whole text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

CHUNK = 1 << 16  # characters read at a time (more while one value is longer than that)
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_PART = re.compile(r"[0-9.eE+-]*")
_DECODER = json.JSONDecoder()


class JsonReader:
    """A JSON text read from `stream` a chunk at a time, taken apart by the caller:
    ``members()`` walks an object key by key and ``value()`` decodes one whole value.

    What was read past is dropped at once, so memory follows what the caller keeps.
    """

    def __init__(self, stream: TextIO, chunk: int = CHUNK) -> None:
        self._stream, self._chunk = stream, chunk
        self._buf, self._pos, self._eof = "", 0, False

    def _more(self) -> bool:
        """Read on (at least as much as is still unread: a long value takes few reads)."""
        if self._eof:
            return False
        text = self._stream.read(max(self._chunk, len(self._buf) - self._pos))
        self._buf, self._pos = self._buf[self._pos :] + text, 0
        self._eof = not text
        return bool(text)

    def _next(self) -> str:
        """The next character that is not white space ("" at the end of the text)."""
        while True:
            self._pos = _SPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _take(self, char: str) -> None:
        found = self._next()
        if found != char:
            raise ValueError(f"expected {char!r}, found {found or 'the end'!r}")
        self._pos += 1

    def value(self) -> Any:
        """The next whole value (an object or array with everything in it)."""
        self._next()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError:
                if self._more():  # cut by the end of what was read so far
                    continue
                raise
            if self._may_go_on(value, end) and self._more():  # cut by the end of the read
                continue
            self._pos = end
            return value

    def _may_go_on(self, value: Any, end: int) -> bool:
        """Whether the value decoded up to `end` may be longer in the text not read yet: it
        reaches the end of what was read, or it is a number followed only by what could
        still be part of it (``1.`` then ``5``, ``1e`` then ``3``)."""
        if end == len(self._buf):
            return True
        return type(value) in (int, float) and _NUMBER_PART.fullmatch(self._buf, end) is not None

    def members(self) -> Iterator[str]:
        """The keys of the object that comes next; the caller reads each key's value (with
        ``value()`` or ``members()``) before asking for the next key."""
        self._take("{")
        if self._next() == "}":
            self._pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise ValueError("an object key is not a string")
            self._take(":")
            yield key
            found = self._next()
            self._pos += 1
            if found == "}":
                return
            if found != ",":
                raise ValueError(f"expected ',' or '}}', found {found or 'the end'!r}")

    def end(self) -> None:
        """Check that nothing but white space follows (as ``json.loads`` does)."""
        if self._next():
            raise ValueError("extra data after the JSON value")
