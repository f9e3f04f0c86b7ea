"""A ChatInterface's examples: as the Chatbot shows them, and what a click sends."""

from __future__ import annotations

import pytest

from webui.chat_examples import ExampleClicks, example_messages
from webui.event_data import SelectData


def test_example_messages_take_text_files_labels_and_icons() -> None:
    examples = ["hi", ["with extra", 1], {"text": "see", "files": ["/a.png"]}]
    shown = example_messages(examples, ["A", "B", "C"], ["i1", "i2", "i3"])
    assert shown == [
        {"text": "hi", "display_text": "A", "icon": "i1"},
        {"text": "with extra", "display_text": "B", "icon": "i2"},
        {"text": "see", "files": ["/a.png"], "display_text": "C", "icon": "i3"},
    ]
    with pytest.raises(TypeError, match="message string or dict"):
        example_messages([3], None, None)


def test_a_click_shows_the_example_and_says_what_to_answer() -> None:
    value = {"text": "see", "files": [{"path": "/cache/a.png"}]}
    clicks = ExampleClicks(multimodal=True, cached=None)
    (shown,) = list(clicks.clicked(SelectData(None, {"index": 0, "value": value})))
    history, message = shown
    assert history == [{"role": "user", "content": [{"path": "/cache/a.png"}, "see"]}]
    assert message == {"text": "see", "files": ["/cache/a.png"]}
    plain = ExampleClicks(multimodal=False, cached=None)
    assert plain.populated(SelectData(None, {"index": 0, "value": value})) == "see"
