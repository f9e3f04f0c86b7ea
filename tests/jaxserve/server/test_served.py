"""Bounds of the served model: checked in validation and written into the schema alike."""

from __future__ import annotations

import re

import pytest

from jaxserve.server.served import MARK, ServedLimits, decimal_range_pattern, resolve_schema


@pytest.mark.parametrize("stop", [1, 2, 9, 10, 11, 100, 101, 320, 1000, 49152, 128256])
def test_decimal_range_pattern_matches_exactly_the_token_ids(stop):
    pattern = re.compile(decimal_range_pattern(stop))
    numbers = [n for n in range(stop + 200) if pattern.fullmatch(str(n))]
    assert numbers == list(range(stop))
    for text in ("", "-1", "01", "1.0", " 1", "1\n", "x"):
        assert not pattern.fullmatch(text), text


def test_resolve_schema_writes_each_bound_and_removes_the_marks():
    limits = ServedLimits("tiny", vocab_size=320, max_model_len=64)
    schema = {
        "token": {"type": "integer", MARK: "token_id"},
        "key": {"type": "string", MARK: "token_key"},
        "max_tokens": {"type": "integer", MARK: "max_tokens"},
        "prompt": {"type": "array", MARK: "prompt_ids"},
        "model": {"anyOf": [{"type": "string", MARK: "model_name"}, {"type": "null"}]},
    }
    resolved = resolve_schema(schema, limits)
    assert resolved["token"] == {"type": "integer", "maximum": 319}
    assert resolved["key"]["pattern"] == decimal_range_pattern(320)
    assert resolved["max_tokens"]["maximum"] == 64
    assert resolved["prompt"]["maxItems"] == 63
    assert resolved["model"]["anyOf"][0] == {"type": "string", "enum": ["tiny"]}
    assert MARK not in str(resolved) and MARK in str(schema), "the input is left as it was"
