"""ChatInterface(save_history=True): past conversations kept in the browser, listed in a panel.

The conversations live in a `BrowserState` (the browser's localStorage), newest first; the
session's `conversation_id` State is the index of the one shown, None for a new chat. After
each turn the conversation is saved at its index; a click in the list shows that one again.
"""

from __future__ import annotations

from typing import Any

from webui.components import Chatbot, Component, Dataset

TITLE_LENGTH = 40


def conversation_title(conversation: list[Any]) -> str:
    """The text of the first user message with text, cut at 40 characters; a 📎 per file."""
    title, found = "", False
    for message in conversation:
        if found:
            break
        if message.get("role") != "user":
            continue
        content = message.get("content")
        for part in content if isinstance(content, list) else [content]:
            text = part if isinstance(part, str) else None
            if isinstance(part, dict) and part.get("type") == "text":
                text = part.get("text", "")
            if text is None:
                title += "📎 "
            else:
                title, found = title + text, True
    if len(title) > TITLE_LENGTH:
        title = title[:TITLE_LENGTH] + "..."
    return title or "Conversation"


def _serializable(value: Any) -> Any:
    """A conversation as JSON can keep it: a component in it is kept as its value."""
    if isinstance(value, list):
        return [_serializable(item) for item in value]
    if isinstance(value, dict):
        return {key: _serializable(item) for key, item in value.items()}
    if isinstance(value, Component):
        return value.value
    return value


def save_conversation(
    index: int | None, conversation: list[Any], saved: list[Any] | None
) -> tuple[int, list[Any]]:
    """(index, conversations) with `conversation` saved: at `index`, or first when new."""
    saved = list(saved or [])
    conversation = _serializable(conversation)
    if index is not None and 0 <= index < len(saved):
        saved[index] = conversation
        return index, saved
    return 0, [conversation, *saved]


def delete_conversation(index: int | None, saved: list[Any] | None) -> tuple[None, list[Any]]:
    """The conversation at `index` removed (the chat was cleared); none is shown after."""
    saved = list(saved or [])
    if index is not None and 0 <= index < len(saved):
        saved.pop(index)
    return None, saved


def conversation_list(saved: list[Any] | None) -> Dataset:
    """The panel's list: one row per saved conversation, by its title."""
    return Dataset(samples=[[conversation_title(c)] for c in saved or [] if c])


def load_conversation(index: int, saved: list[Any] | None) -> tuple[int, Chatbot]:
    """(index, the Chatbot showing it) for a click on row `index` of the list."""
    return index, Chatbot(value=(saved or [])[index])


def new_chat() -> tuple[None, list[Any]]:
    """A new chat: no conversation chosen, an empty Chatbot."""
    return None, []
