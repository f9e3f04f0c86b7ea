"""Chatbot: a conversation as a list of `{"role", "content"}` messages.

`fn` sees and returns messages whose text content is a plain string, as in Gradio's
`type="messages"`; content with several parts (text and files) stays a list of parts. On the
wire every message has Gradio 6's normalised shape:
`{"role", "metadata", "content": [{"type": "text", "text": ...}, ...], "options"}`.
Pairs `[user, assistant]` (the older "tuples" format) are accepted and converted.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from webui.components.base import Component
from webui.components.filedata import output_file_data
from webui.errors import Error
from webui.events import Changeable, Likeable, Selectable

ROLES = ("user", "assistant", "system")
Message = dict[str, Any]

_TEXT = {
    "properties": {"text": {"type": "string"}, "type": {"const": "text", "type": "string"}},
    "required": ["text"],
    "type": "object",
}
_FILE = {
    "properties": {
        "file": {"type": "object", "properties": {"path": {"type": "string"}}},
        "alt_text": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "type": {"const": "file", "type": "string"},
    },
    "required": ["file"],
    "type": "object",
}
_MESSAGE_SCHEMA: dict[str, Any] = {
    "items": {
        "properties": {
            "role": {"type": "string"},
            "metadata": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            "content": {"items": {"anyOf": [_TEXT, _FILE]}, "type": "array"},
            "options": {
                "anyOf": [{"items": {"type": "object"}, "type": "array"}, {"type": "null"}]
            },
        },
        "required": ["role", "content"],
        "type": "object",
    },
    "title": "ChatbotDataMessages",
    "type": "array",
}


def _wire_part(part: Any) -> dict[str, Any]:
    """One content part in wire form: text, or a file given as {"path": ...} / {"file": ...}."""
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if isinstance(part, dict):
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            return {"type": "text", "text": part["text"]}
        if isinstance(part.get("file"), dict):
            return {"type": "file", "file": part["file"], "alt_text": part.get("alt_text")}
        if isinstance(part.get("path"), str):
            file = {"path": part["path"], "meta": {"_type": "gradio.FileData"}}
            return {"type": "file", "file": file, "alt_text": part.get("alt_text")}
    raise Error(f"a chat message part must be text or a file, got {part!r}")


def _fn_content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Content as `fn` sees it: a string when the message is text only."""
    if all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def pairs_to_messages(pairs: list[Any]) -> list[Message]:
    """[[user, assistant], ...] as messages; a None side of a pair is left out."""
    messages: list[Message] = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise Error(f"a chat pair must be [user, assistant], got {pair!r}")
        for role, content in zip(("user", "assistant"), pair, strict=True):
            if content is not None:
                messages.append({"role": role, "content": content})
    return messages


class Chatbot(Changeable, Selectable, Likeable, Component):
    """A conversation; `type="messages"` (the only format kept; pairs are converted)."""

    block_type = "chatbot"
    python_type = (
        "list[dict(role: str, metadata: dict(str, Any) | None, content: list[dict(text: str, "
        "type: Literal[text]) | dict(file: filepath, alt_text: str | None, type: "
        "Literal[file])], options: list[dict(value: str, label: str)] | None)]"
    )
    example: ClassVar[Any] = [
        {
            "role": "user",
            "metadata": None,
            "content": [{"type": "text", "text": "Hello!"}],
            "options": None,
        },
        {
            "role": "assistant",
            "metadata": None,
            "content": [{"type": "text", "text": "How can I help you?"}],
            "options": None,
        },
    ]

    def __init__(
        self,
        value: list[Any] | None = None,
        *,
        type: Literal["messages", "tuples"] = "messages",
        height: int | str = 400,
        placeholder: str | None = None,
        render_markdown: bool = True,
        examples: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ):
        if type not in ("messages", "tuples"):
            raise ValueError(f"Chatbot type must be 'messages' or 'tuples', got {type!r}")
        self.type = type
        self.height = height
        self.placeholder = placeholder
        self.render_markdown = render_markdown
        self.examples = examples
        super().__init__([] if value is None else value, **kwargs)

    def preprocess(self, payload: Any) -> list[Any]:
        if payload is None:
            return []
        if not isinstance(payload, list):
            raise Error(f"{self.label or 'Chatbot'} expects a list of messages, got {payload!r}")
        messages = []
        for message in self._wire_messages(payload):
            if any(part["type"] != "text" for part in message["content"]):
                # File parts name server paths; taking them from a client needs the upload
                # check of file components, which chat input does not have.
                raise Error(f"{self.label or 'Chatbot'} input takes text messages only")
            messages.append({**message, "content": _fn_content(message["content"])})
        if self.type == "tuples":
            return self._as_pairs(messages)
        return messages

    def postprocess(self, value: Any) -> list[Message]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise Error(f"{self.label or 'Chatbot'} expects a list of messages, got {value!r}")
        messages = self._wire_messages(list(value))
        for message in messages:  # files a function shows are served from the app's cache
            for part in message["content"]:
                if part["type"] == "file":
                    part["file"] = output_file_data(self, part["file"])
        return messages

    def _wire_messages(self, value: list[Any]) -> list[Message]:
        if value and not isinstance(value[0], dict):
            value = pairs_to_messages(value)
        messages = []
        for message in value:
            if not isinstance(message, dict) or "role" not in message or "content" not in message:
                raise Error(
                    "Data incompatible with messages format: each message needs 'role' and "
                    f"'content' keys, got {message!r}"
                )
            if message["role"] not in ROLES:
                raise Error(f"a chat message role must be one of {ROLES}, got {message['role']!r}")
            content = message["content"]
            if content is None:
                continue
            parts = content if isinstance(content, list) else [content]
            messages.append(
                {
                    "role": message["role"],
                    "metadata": message.get("metadata"),
                    "content": [_wire_part(p) for p in parts],
                    "options": message.get("options"),
                }
            )
        return messages

    @staticmethod
    def _as_pairs(messages: list[Message]) -> list[list[Any]]:
        pairs: list[list[Any]] = []
        for message in messages:
            if message["role"] == "user" or not pairs or pairs[-1][1] is not None:
                pairs.append([None, None])
            pairs[-1][0 if message["role"] == "user" else 1] = message["content"]
        return pairs

    def api_info(self) -> dict[str, Any]:
        return dict(_MESSAGE_SCHEMA)

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "type": self.type,
            "height": self.height,
            "render_markdown": self.render_markdown,
            # As Gradio's like listener does: the page shows the buttons once one waits.
            "likeable": self.root is not None and self.root.has_listener(self, "like"),
            "like_user_message": bool(getattr(self, "like_user_message", False)),
        }
        if self.placeholder is not None:
            props["placeholder"] = self.placeholder
        if self.examples is not None:
            props["examples"] = self.examples
        return props
