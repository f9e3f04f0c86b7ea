"""Streaming diffs round-trip through gradio_client's own apply_diff."""

from __future__ import annotations

import pytest
from gradio_client.utils import apply_diff

from webui.diff import diff

CASES = [
    ("ab", "abc"),
    ("abc", "xyz"),
    ("same", "same"),
    ([1, 2], [1, 2, 3, 4]),
    ([1, 2, 3], [1]),
    ({"a": 1, "b": "x"}, {"a": 2, "b": "xy", "c": [1]}),
    ([["user", "hi"], ["bot", "he"]], [["user", "hi"], ["bot", "hello"]]),
    (None, "x"),
    (1, 1.5),
]


@pytest.mark.parametrize(("old", "new"), CASES)
def test_diff_applies_back(old: object, new: object) -> None:
    assert apply_diff(old, diff(old, new)) == new


def test_growing_text_is_one_append() -> None:
    assert diff("hel", "hello") == [["append", [], "lo"]]
