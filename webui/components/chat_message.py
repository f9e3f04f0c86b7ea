"""Chat message types: `ChatMessage`, and the typed dicts a Chatbot's messages are made of.

`ChatMessage` is what an app builds (`gr.ChatMessage(content, role="assistant", metadata=...)`);
the dicts name the shapes Gradio documents: `MetadataDict` (a thought's title, nesting ids,
log, duration, status), `OptionDict` (a suggested reply), `MessageDict` (an OpenAI-style
message) and `Message` / `NormalizedMessageDict` (the wire form, content as a list of parts).
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from live annotations.
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

Role = Literal["user", "assistant", "system"]
ThoughtStatus = Literal["pending", "done"]
METADATA_KEYS = ("title", "id", "parent_id", "log", "duration", "status")


class MetadataDict(TypedDict):
    """A message shown as a thought: `title` makes it one; `id`/`parent_id` nest thoughts;
    `log` and `duration` show beside the title; `status="pending"` shows a spinner and keeps
    it open, `"done"` closes it."""

    title: NotRequired[str]
    id: NotRequired[int | str]
    parent_id: NotRequired[int | str]
    log: NotRequired[str]
    duration: NotRequired[float]
    status: NotRequired[ThoughtStatus]


class OptionDict(TypedDict):
    """A suggested reply under a message: clicking it sends `value` (shown as `label`)."""

    value: str
    label: NotRequired[str]


class FileDataDict(TypedDict):
    """A file as the wire carries it."""

    path: str
    url: NotRequired[str | None]
    size: NotRequired[int | None]
    orig_name: NotRequired[str | None]
    mime_type: NotRequired[str | None]
    is_stream: NotRequired[bool]
    meta: dict[Literal["_type"], Literal["gradio.FileData"]]


class TextMessageDict(TypedDict):
    text: str
    type: Literal["text"]


class FileMessageDict(TypedDict):
    file: FileDataDict
    alt_text: NotRequired[str | None]
    type: Literal["file"]


class ComponentMessageDict(TypedDict):
    """A component shown inside a message (`content=gr.File(...)`), by its name and props."""

    component: str
    value: Any
    constructor_args: dict[str, Any]
    props: dict[str, Any]
    type: Literal["component"]


MessageContent = str | FileDataDict | Any  # text, a file, or a component instance
NormalizedMessageContent = TextMessageDict | FileMessageDict | ComponentMessageDict


class MessageDict(TypedDict):
    """An OpenAI-style message as apps write it: `{"role": "user", "content": "Hi"}`."""

    content: MessageContent | list[MessageContent]
    role: Role
    metadata: NotRequired[MetadataDict]
    options: NotRequired[list[OptionDict]]


class NormalizedMessageDict(TypedDict):
    """A message in wire form, as `fn` receives a Chatbot's value: content is a list of parts."""

    content: list[NormalizedMessageContent]
    role: Role
    metadata: NotRequired[MetadataDict | None]
    options: NotRequired[list[OptionDict] | None]


Message = NormalizedMessageDict  # Gradio's name for a message in wire form


@dataclass
class ChatMessage:
    """One message of a Chatbot; only `content` is required, the role defaults to assistant.

    `content` is text, a file dict (`{"path": ...}`), a component (`gr.Image("cat.png")`) or a
    list of these shown together. `metadata` with a `title` shows the message as a thought.
    """

    content: MessageContent | list[MessageContent]
    role: Role = "assistant"
    metadata: MetadataDict = field(default_factory=lambda: MetadataDict())
    options: list[OptionDict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The message as a dict, its values shared (not copied, unlike `dataclasses.asdict`),
        so a component in the content stays the same instance."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
