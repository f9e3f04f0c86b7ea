"""reasoning_tags: text between tags becomes a "Reasoning" thought, in order."""

from __future__ import annotations

import pytest

import webui as gr
from webui.components.chat_reasoning import checked_reasoning_tags, reasoning_segments

TAGS = [("<think>", "</think>")]


def test_segments_keep_order_and_mark_unclosed_reasoning_pending() -> None:
    text = "<think> plan </think> answer <think>more"
    assert reasoning_segments(text, TAGS) == [
        ("plan", True, "done"),
        ("answer", False, "done"),
        ("more", True, "pending"),
    ]
    with pytest.raises(ValueError, match="list of \\(open, close\\) tags"):
        checked_reasoning_tags([("<think>",)])


def test_a_chatbot_splits_replies_at_its_tags() -> None:
    chatbot = gr.Chatbot(reasoning_tags=TAGS)
    reply = {"role": "assistant", "content": "<think>why</think>Because.", "options": None}
    assert chatbot.postprocess([reply]) == [
        {"role": "assistant", "metadata": {"title": "Reasoning", "status": "done"},
         "content": [{"type": "text", "text": "why"}], "options": None},
        {"role": "assistant", "metadata": None,
         "content": [{"type": "text", "text": "Because."}], "options": None},
    ]  # fmt: skip
    plain = gr.Chatbot().postprocess([reply])
    assert plain[0]["content"][0]["text"] == "<think>why</think>Because."
