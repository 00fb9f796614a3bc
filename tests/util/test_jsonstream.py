"""Reading a big JSON object a member at a time: the same values as json.loads, whatever the
chunk size, and the same refusals."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from praxis_upgrade.util.jsonstream import JsonReader

DOC = {
    "version": "v1.6.0",
    "count": 1234567890123,
    "ratio": -1.5e-3,
    "flags": [True, False, None],
    "files": {f"dir/file {i}.md": ["a" * 64, i, {"deep": [i, "\u00e9\u2603"]}] for i in range(50)},
    "empty": {},
    "text": 'quotes " and \\ backslashes \n',
}


def _walk(reader: JsonReader) -> dict[str, Any]:
    """The document rebuilt by walking its top level and its ``files`` member key by key."""
    out: dict[str, Any] = {}
    for key in reader.members():
        if key == "files":
            out[key] = {k: reader.value() for k in reader.members()}
        else:
            out[key] = reader.value()
    reader.end()
    return out


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 16])
@pytest.mark.parametrize("indent", [None, 2])
def test_a_document_read_in_any_chunk_size_equals_json_loads(
    chunk: int, indent: int | None
) -> None:
    text = json.dumps(DOC, indent=indent, sort_keys=True)
    assert _walk(JsonReader(io.StringIO(text), chunk)) == json.loads(text)


def test_a_number_cut_by_a_chunk_boundary_is_read_whole() -> None:
    reader = JsonReader(io.StringIO('{"n": 123456789}'), chunk=9)  # the first read ends in "12"
    assert [(k, reader.value()) for k in reader.members()] == [("n", 123456789)]


def test_numbers_of_every_form_are_read_whole_wherever_a_read_ends() -> None:
    text = '{"a": 1.5, "b": 1e5, "c": -2.25E+10, "d": 0.5, "e": 10, "f": 1.5e-3, "g": true}'
    for chunk in range(1, len(text) + 1):
        reader = JsonReader(io.StringIO(text), chunk)
        assert {k: reader.value() for k in reader.members()} == json.loads(text), chunk


@pytest.mark.parametrize(
    "text", ['{"a": 1', '{"a" 1}', '{"a": 1,}', '{"a": 1} x', "{1: 2}", '{"a": tru}', ""]
)
def test_what_json_loads_refuses_the_reader_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        _walk(JsonReader(io.StringIO(text), chunk=3))


def test_members_of_something_else_than_an_object_are_refused() -> None:
    with pytest.raises(ValueError, match="expected '{'"):
        _walk(JsonReader(io.StringIO("[1]")))
