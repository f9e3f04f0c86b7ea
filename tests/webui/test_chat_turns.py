"""One chat turn: what a message or reply adds to the history, and fn run, streamed or not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import webui as gr
from webui.chat_turns import (
    ChatTurns,
    api_safe,
    append_to_history,
    as_history_messages,
    edit_message,
    option_clicked,
    pairs_for_fn,
    pop_last_user_message,
)
from webui.errors import Error
from webui.event_data import EditData, SelectData


def test_what_messages_and_replies_add_to_the_history() -> None:
    thought = gr.ChatMessage("hmm", role="user", metadata={"title": "T"})
    added = as_history_messages(["hi", thought, {"role": "user", "content": "x"}], "assistant")
    assert [m["role"] for m in added] == ["assistant"] * 3  # the turn's role wins, as in Gradio
    assert added[1]["metadata"] == {"title": "T"} and added[1]["content"] == "hmm"
    multimodal = as_history_messages(
        {"text": "see", "files": ["/a.png", {"path": "/b.png"}]}, "user"
    )
    assert multimodal == [
        {"role": "user", "content": [{"path": "/a.png"}, {"path": "/b.png"}, "see"]}
    ]
    assert as_history_messages(None, "assistant") == []
    with pytest.raises(Error, match="returns a string, a component"):
        as_history_messages(42, "assistant")
    history = [{"role": "user", "content": "a"}]
    longer = append_to_history("b", history, "assistant")
    assert len(longer) == 2 and len(history) == 1  # a new list; the old one is untouched


def test_a_turn_appends_the_message_and_the_reply() -> None:
    def reply(message: str, history: list[Any]) -> str:
        history.append({"role": "user", "content": "sneaky"})  # changes fn's copy only
        return f"{message}:{len(history)}"

    turns = ChatTurns(reply, n_additional_outputs=0)
    response, history = turns.run("hi", [{"role": "user", "content": "x"}])
    assert response == "hi:2"
    assert history == [
        {"role": "user", "content": "x"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hi:2"},
    ]


def test_streaming_turns_and_additional_outputs() -> None:
    def stream(message: str, history: list[Any]):
        yield "a", 1
        yield "ab", 2

    turns = ChatTurns(stream, n_additional_outputs=1)
    steps = list(turns.stream("m", []))
    assert [(s[0], s[2]) for s in steps] == [("a", 1), ("ab", 2)]
    assert steps[-1][1][-1] == {"role": "assistant", "content": "ab"}
    empty = ChatTurns(lambda m, h: iter(()), n_additional_outputs=1)
    (step,) = list(empty.stream("m", []))
    assert step[0] is None and step[2] == {"__type__": "update"}  # skip(): outputs unchanged
    with pytest.raises(Error, match="returns \\(reply, 1 more value"):
        ChatTurns(lambda m, h: "only", n_additional_outputs=1).run("m", [])


def test_async_turns_and_the_event_functions() -> None:
    async def reply(message: str, history: list[Any]) -> gr.ChatMessage:
        """Shout."""
        return gr.ChatMessage(message.upper(), metadata={"title": "loud"})

    turns = ChatTurns(reply, n_additional_outputs=0)
    api = turns.event_fn(for_api=True)
    assert api.__name__ == "reply" and api.__doc__ == "Shout."
    response, _ = asyncio.run(api("hi", []))
    assert response == {"content": "HI", "role": "assistant", "metadata": {"title": "loud"},
                        "options": []}  # fmt: skip
    assert turns.event_fn(for_api=False).__name__ == "_submit_fn"
    cached = asyncio.run(turns.example_fn()("yo"))
    assert [m["role"] for m in cached] == ["user", "assistant"]


def test_pairs_edits_options_and_api_values() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "a"}]},
        {"role": "assistant", "content": "b"},
    ]
    assert pairs_for_fn(history) == [["a", "b"]]
    edited = edit_message(history, EditData(None, {"index": 1, "value": "new"}))
    assert edited == (history[:1], history[:1], "new")
    chosen = option_clicked(history, SelectData(None, {"index": 1, "value": "yes"}))
    assert chosen == ([*history, {"role": "user", "content": "yes"}], "yes")
    assert api_safe([gr.Code(value="x", render=False), {"k": gr.ChatMessage("c")}]) == [
        "x",
        {"k": {"content": "c", "role": "assistant", "metadata": {}, "options": []}},
    ]


def test_popping_the_last_exchange_gives_back_the_users_message() -> None:
    history = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": [{"type": "file", "file": {"path": "/c.png"}}]},
        {"role": "user", "content": [{"type": "text", "text": "see"}]},
        {"role": "assistant", "content": "seen"},
    ]
    assert pop_last_user_message(history) == (history[:2], "see")
    assert pop_last_user_message(history, multimodal=True) == (
        history[:2],
        {"text": "see", "files": ["/c.png"]},
    )
    assert pop_last_user_message([]) == ([], "")
