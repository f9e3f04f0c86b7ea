"""Chatbot: a conversation as a list of messages, shown as bubbles and collapsible thoughts.

`fn` receives messages in Gradio 6's normalised form, `{"role", "metadata", "content": [part,
...], "options"}` (see `webui.components.chat_parts`), and returns `{"role", "content"}` dicts
or `gr.ChatMessage`s in any form Gradio takes. A message whose metadata has a `title` is a
thought (`id`/`parent_id` nest them). Pairs `[user, assistant]` (the older "tuples" format)
are accepted and converted; `type="tuples"` hands `fn` pairs of plain strings back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from webui.components.base import Component
from webui.components.chat_parts import (
    Message,
    as_message_dict,
    fn_message,
    plain_content,
    served_file,
    shown_example,
    wire_message,
)
from webui.components.chat_reasoning import checked_reasoning_tags, split_reasoning
from webui.components.filedata import FILE_DATA_SCHEMA
from webui.errors import Error
from webui.events import Changeable, Likeable, Selectable, _listener

_NULLABLE = {"type": "null"}
_ID = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
_METADATA = {
    "properties": {
        "title": {"type": "string"},
        "id": _ID,
        "parent_id": _ID,
        "log": {"type": "string"},
        "duration": {"type": "number"},
        "status": {"enum": ["pending", "done"], "type": "string"},
    },
    "type": "object",
}
_TEXT = {
    "properties": {"text": {"type": "string"}, "type": {"const": "text", "type": "string"}},
    "required": ["text"],
    "type": "object",
}
_FILE = {
    "properties": {
        "file": {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"},
        "alt_text": {"anyOf": [{"type": "string"}, _NULLABLE]},
        "type": {"const": "file", "type": "string"},
    },
    "required": ["file"],
    "type": "object",
}
_COMPONENT = {
    "properties": {
        "component": {"type": "string"},
        "value": {},
        "constructor_args": {"additionalProperties": {}, "type": "object"},
        "props": {"additionalProperties": {}, "type": "object"},
        "type": {"const": "component", "type": "string"},
    },
    "required": ["component", "value", "constructor_args", "props"],
    "type": "object",
}
_OPTION = {
    "properties": {"value": {"type": "string"}, "label": {"type": "string"}},
    "required": ["value"],
    "type": "object",
}
_MESSAGE_SCHEMA: dict[str, Any] = {
    "$defs": FILE_DATA_SCHEMA["$defs"],
    "items": {
        "properties": {
            "role": {"type": "string"},
            "metadata": {"anyOf": [_METADATA, _NULLABLE]},
            "content": {"items": {"anyOf": [_TEXT, _FILE, _COMPONENT]}, "type": "array"},
            "options": {"anyOf": [{"items": _OPTION, "type": "array"}, _NULLABLE]},
        },
        "required": ["role", "content"],
        "type": "object",
    },
    "title": "ChatbotDataMessages",
    "type": "array",
}
_EDITABLE = (None, "user", "all")
_BUTTONS = ("share", "copy", "copy_all")


def _checked_avatars(images: Any) -> list[str | None]:
    if images is None:
        return [None, None]
    if not isinstance(images, list | tuple) or len(images) != 2:
        raise ValueError(f"Chatbot avatar_images is (user image, assistant image), got {images!r}")
    for image in images:
        if image is not None and not isinstance(image, str | os.PathLike):
            raise ValueError(f"Chatbot avatar_images are file paths or URLs, got {image!r}")
    return [None if image is None else os.fspath(image) for image in images]


def _checked_buttons(buttons: Sequence[Any] | None) -> list[str]:
    """Gradio's toolbar names; "share" (to Hugging Face Spaces) is accepted and not shown,
    as Gradio shows it only on Spaces."""
    chosen = list(_BUTTONS if buttons is None else buttons)
    for button in chosen:
        if button not in _BUTTONS:
            raise ValueError(
                f"Chatbot buttons are among {_BUTTONS} (webui has no custom toolbar buttons), "
                f"got {button!r}"
            )
    return [str(b) for b in chosen]


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


def _text(content: str) -> Message:
    return {"role": "user", "metadata": None, "content": [{"text": content, "type": "text"}]}


class Chatbot(Changeable, Selectable, Likeable, Component):
    """A conversation. Listeners: change, select, like, retry, undo, clear, copy, edit,
    option_select and example_select, as Gradio's."""

    block_type = "chatbot"
    python_type = (
        "list[dict(role: str, metadata: dict(title: str, id: int | str, parent_id: int | str, "
        "log: str, duration: float, status: Literal['pending', 'done']) | None, content: "
        "list[dict(text: str, type: Literal[text]) | dict(file: filepath, alt_text: str | None, "
        "type: Literal[file]) | dict(component: str, value: Any, constructor_args: dict(str, "
        "Any), props: dict(str, Any), type: Literal[component])], options: list[dict(value: "
        "str, label: str)] | None)]"
    )
    example: ClassVar[Any] = [
        {**_text("Hello!"), "options": None},
        {**_text("How can I help you?"), "role": "assistant", "options": None},
    ]
    example_select = _listener("example_select")
    # Read by the page's chatbot.js: a resize handle, heights, "bubble"/"panel", right-to-left
    # text, Markdown line breaks, and text appended to copied messages.
    look_options = frozenset(
        {"resizable", "min_height", "max_height", "layout", "rtl", "line_breaks", "watermark"}
    )

    def __init__(
        self,
        value: list[Any] | None = None,
        *,
        type: Literal["messages", "tuples"] = "messages",
        height: int | str | None = 400,
        placeholder: str | None = None,
        render_markdown: bool = True,
        examples: list[dict[str, Any]] | None = None,
        editable: Literal["user", "all"] | None = None,
        feedback_options: Sequence[str] | None = ("Like", "Dislike"),
        feedback_value: Sequence[str | None] | None = None,
        autoscroll: bool = True,
        like_user_message: bool = False,
        buttons: Sequence[str] | None = None,
        avatar_images: tuple[str | os.PathLike[str] | None, str | os.PathLike[str] | None]
        | None = None,
        reasoning_tags: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ):
        """`editable="user"` lets the user edit their messages in the page, `"all"` every
        message (the `edit` event says which); `buttons` are among "copy" (per message),
        "copy_all" and "share" (not shown: no Spaces), all by default; `feedback_options` are
        the reactions offered under a message once a `like` listener waits ("Like"/"Dislike"
        as thumbs), and `feedback_value` the reaction shown on each assistant message.
        `avatar_images` are (user, assistant) pictures, files or URLs; `reasoning_tags` lists
        (open, close) tags whose text shows as a collapsed "Reasoning" thought."""
        if type not in ("messages", "tuples"):
            raise ValueError(f"Chatbot type must be 'messages' or 'tuples', got {type!r}")
        if editable not in _EDITABLE:
            raise ValueError(f"Chatbot editable must be one of {_EDITABLE}, got {editable!r}")
        self.type = type
        self.height = height
        self.placeholder = placeholder
        self.render_markdown = render_markdown
        self.examples = examples
        self.editable = editable
        self.feedback_options = None if feedback_options is None else list(feedback_options)
        self.feedback_value = None if feedback_value is None else list(feedback_value)
        self.autoscroll = autoscroll
        self.like_user_message = like_user_message
        self.buttons = _checked_buttons(buttons)
        self.avatar_images = _checked_avatars(avatar_images)
        self.reasoning_tags = checked_reasoning_tags(reasoning_tags)
        super().__init__([] if value is None else value, **kwargs)

    def preprocess(self, payload: Any) -> list[Any]:
        if payload is None:
            return []
        if not isinstance(payload, list):
            raise Error(f"{self.label or 'Chatbot'} expects a list of messages, got {payload!r}")
        messages = [fn_message(self, message) for message in payload]
        if self.type == "tuples":
            plain = [{**m, "content": plain_content(m["content"])} for m in messages]
            return self._as_pairs(plain)
        return messages

    def postprocess(self, value: Any) -> list[Message]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise Error(f"{self.label or 'Chatbot'} expects a list of messages, got {value!r}")
        value = list(value)
        if value and isinstance(value[0], list | tuple):
            value = pairs_to_messages(value)
        for message in value:
            as_message_dict(message)  # every message is checked before any file is served
        wired = (wire_message(self, message) for message in value)
        messages = [message for message in wired if message is not None]
        if self.reasoning_tags:
            return [part for m in messages for part in split_reasoning(m, self.reasoning_tags)]
        return messages

    @staticmethod
    def _as_pairs(messages: list[Message]) -> list[list[Any]]:
        pairs: list[list[Any]] = []
        for message in messages:
            if message["role"] == "user" or not pairs or pairs[-1][1] is not None:
                pairs.append([None, None])
            pairs[-1][0 if message["role"] == "user" else 1] = message["content"]
        return pairs

    def _listened(self, event: str) -> bool:
        """Whether a listener waits for `event`: the page shows its button only then."""
        return self.root is not None and self.root.has_listener(self, event)

    def api_info(self) -> dict[str, Any]:
        return dict(_MESSAGE_SCHEMA)

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "type": self.type,
            "height": self.height,
            "render_markdown": self.render_markdown,
            "editable": self.editable,
            "feedback_options": self.feedback_options,
            "feedback_value": self.feedback_value,
            "autoscroll": self.autoscroll,
            # As Gradio's like listener does: the page shows the buttons once one waits.
            "likeable": self._listened("like"),
            "retryable": self._listened("retry"),
            "undoable": self._listened("undo"),
            "clearable": self._listened("clear"),
            "like_user_message": self.like_user_message,
            "buttons": self.buttons,
            "avatar_images": [served_file(self, image) for image in self.avatar_images],
        }
        if self.placeholder is not None:
            props["placeholder"] = self.placeholder
        if self.examples is not None:
            props["examples"] = [shown_example(self, e) for e in self.examples]
        return props
