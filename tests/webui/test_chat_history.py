"""save_history: conversation titles, saving at an index or first, deleting, listing, loading."""

from __future__ import annotations

import webui as gr
from webui.chat_history import (
    conversation_list,
    conversation_title,
    delete_conversation,
    load_conversation,
    save_conversation,
)


def test_titles_come_from_the_first_user_text() -> None:
    text = {"type": "text", "text": "x" * 50}
    file = {"type": "file", "file": {"path": "/a"}}
    assert conversation_title([{"role": "assistant", "content": "hi"}]) == "Conversation"
    assert conversation_title([{"role": "user", "content": [file, text]}]) == (
        "📎 " + "x" * 38 + "..."
    )
    assert conversation_title([{"role": "user", "content": "short"}]) == "short"


def test_saving_deleting_listing_and_loading() -> None:
    first = [{"role": "user", "content": "one"}]
    second = [{"role": "user", "content": gr.Code(value="two", render=False)}]
    index, saved = save_conversation(None, first, None)
    assert (index, saved) == (0, [first])
    index, saved = save_conversation(None, second, saved)
    assert index == 0 and saved[0] == [{"role": "user", "content": "two"}]  # JSON, not objects
    index, saved = save_conversation(1, first + first, saved)
    assert index == 1 and saved[1] == first + first
    listed = conversation_list(saved)
    assert listed.constructor_args["samples"] == [["two"], ["one"]]
    shown_index, chatbot = load_conversation(1, saved)
    assert shown_index == 1 and chatbot.constructor_args["value"] == first + first
    assert delete_conversation(0, saved) == (None, [first + first])
    assert delete_conversation(None, saved) == (None, saved)
