"""The JSONC parser and text edits that keep comments and layout."""

from __future__ import annotations

import json

import pytest

from praxis_upgrade.integrations import jsonc

SAMPLE = """// tasks for this repo
{
    "version": "2.0.0", /* VS Code wants this */
    "tasks": [
        // build first
        {
            "label": "build",
            "command": "make",
            "args": ["a,b", "//not a comment", "/* nor this */", "quote \\" // still string"],
        },
        {"label": "test", "command": "pytest"},
    ],
    "inputs": [],
}
"""


def test_parses_comments_and_trailing_commas_but_not_inside_strings() -> None:
    doc = jsonc.parse(SAMPLE)
    assert doc.has_comments
    assert doc.data["tasks"][0]["args"] == [
        "a,b",
        "//not a comment",
        "/* nor this */",
        'quote " // still string',
    ]
    assert [t["label"] for t in doc.data["tasks"]] == ["build", "test"]
    assert doc.data["inputs"] == []


def test_plain_json_has_no_comments() -> None:
    doc = jsonc.parse('{"a": [1, 2.5e3, -0, true, false, null, "x"]}')
    assert doc.data == {"a": [1, 2500.0, 0, True, False, None, "x"]}
    assert not doc.has_comments


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "a": 1,,\n}', 2, 10),
        ('{"a": 1} extra', 1, 10),
        ('{"a": /* open', 1, 7),
        ('{"a": [1 2]}', 1, 10),
        ("{'a': 1}", 1, 2),
        ('{"a": ', 1, 7),
        ("[,]", 1, 2),
    ],
)
def test_errors_say_where(text: str, line: int, column: int) -> None:
    with pytest.raises(jsonc.JsoncError) as err:
        jsonc.parse(text)
    assert (err.value.line, err.value.column) == (line, column)
    assert f"line {line} column {column}" in str(err.value)


def test_append_keeps_comments_and_user_items() -> None:
    doc = jsonc.parse(SAMPLE)
    text = jsonc.append_items(doc, "tasks", [{"label": "ours"}])
    assert "// build first" in text and "/* VS Code wants this */" in text
    assert [t["label"] for t in jsonc.loads(text)["tasks"]] == ["build", "test", "ours"]


def test_append_into_an_empty_array() -> None:
    text = jsonc.append_items(jsonc.parse(SAMPLE), "inputs", [{"id": "a"}, {"id": "b"}])
    assert jsonc.loads(text)["inputs"] == [{"id": "a"}, {"id": "b"}]


def test_add_member_to_object_with_and_without_members() -> None:
    assert jsonc.loads(jsonc.add_member(jsonc.parse(SAMPLE), "x", [1]))["x"] == [1]
    assert jsonc.loads(jsonc.add_member(jsonc.parse("{ // empty\n}"), "x", [1])) == {"x": [1]}


def test_replace_and_remove_items() -> None:
    doc = jsonc.parse(SAMPLE)
    replaced = jsonc.replace_items(doc, "tasks", {1: {"label": "test", "command": "tox"}})
    assert jsonc.loads(replaced)["tasks"][1] == {"label": "test", "command": "tox"}
    assert "// build first" in replaced
    for drop, left in (({0}, ["test"]), ({1}, ["build"]), ({0, 1}, [])):
        text = jsonc.remove_items(jsonc.parse(SAMPLE), "tasks", drop)
        assert [t["label"] for t in jsonc.loads(text)["tasks"]] == left


def test_remove_runs_of_items() -> None:
    text = '{"t": [1, 2, 3, 4, 5,]}'
    for drop in ({0, 1}, {1, 2}, {3, 4}, {0, 2, 4}, {0, 1, 2, 3, 4}):
        got = jsonc.loads(jsonc.remove_items(jsonc.parse(text), "t", drop))
        assert got == {"t": [i + 1 for i in range(5) if i not in drop]}


def test_round_trip_of_plain_json_is_exact() -> None:
    data = {"version": "2.0.0", "tasks": [{"label": "é", "n": 1}]}
    assert jsonc.loads(json.dumps(data)) == data


def test_edits_keep_crlf_line_endings() -> None:
    text = SAMPLE.replace("\n", "\r\n")
    edited = jsonc.append_items(jsonc.parse(text), "tasks", [{"label": "ours"}])
    assert "\n" not in edited.replace("\r\n", "")
    assert jsonc.loads(edited)["tasks"][-1] == {"label": "ours"}


@pytest.mark.parametrize(
    ("text", "drop", "expected"),
    [
        ('{"t": [1, 2]}', {1}, '{"t": [1]}'),
        ('{"t": [1, 2]}', {0}, '{"t": [2]}'),
        ('{"t": [\n  1,\n  2\n]}', {1}, '{"t": [\n  1\n]}'),
        ('{"t": [\n  1,\n  2,\n]}', {1}, '{"t": [\n  1,\n]}'),
        ('{"t": [\n  1, // one\n  // two?\n  2\n]}', {1}, '{"t": [\n  1 // one\n  // two?\n]}'),
        ('{"t": [\n  1,\n  2 /* why */ ,\n]}', {1}, '{"t": [\n  1,\n   /* why */ \n]}'),
        ('{"t": [\n  1,\n  2, // c\n  3\n]}', {1, 2}, '{"t": [\n  1\n  // c\n]}'),
    ],
)
def test_remove_keeps_every_comment_and_adds_no_trailing_comma(
    text: str, drop: set[int], expected: str
) -> None:
    assert jsonc.remove_items(jsonc.parse(text), "t", drop) == expected


def test_remove_member_takes_its_comma_and_keeps_comments() -> None:
    text = '{\r\n    "a": 1,\r\n    "t": [] // c\r\n}\r\n'
    assert jsonc.remove_member(jsonc.parse(text), "t") == '{\r\n    "a": 1\r\n     // c\r\n}\r\n'
    assert jsonc.remove_member(jsonc.parse(text), "a") == '{\r\n    "t": [] // c\r\n}\r\n'


def test_comments_are_recorded_in_order_without_their_line_ending() -> None:
    doc = jsonc.parse(SAMPLE.replace("\n", "\r\n"))
    assert doc.comment_texts() == [
        "// tasks for this repo",
        "/* VS Code wants this */",
        "// build first",
    ]


def test_newline_is_that_of_the_first_line() -> None:
    assert jsonc.newline("{\r\n}\n") == "\r\n"
    assert jsonc.newline("{\n}\r\n") == "\n"
    assert jsonc.newline("{}") == "\n"
