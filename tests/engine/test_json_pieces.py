"""Session results are written piece by piece: the bytes are exactly json.dumps(sort_keys=True)."""

from __future__ import annotations

import json

import pytest

from praxis_upgrade.engine.session import json_pieces

CASES = [
    {},
    [],
    None,
    "é",
    {"b": [1, {"z": 1, "a": [None, 1.5, "é\n"]}], "a": {"entries": [{"x": i} for i in range(300)]}},
    {1: 2, 3: 4},
    {"a": {2: [3]}},
    [[], [1, [2]], (3, 4)],
]


@pytest.mark.parametrize("value", CASES)
def test_pieces_join_to_json_dumps(value: object) -> None:
    assert b"".join(json_pieces(value, 64)) == json.dumps(value, sort_keys=True).encode()
