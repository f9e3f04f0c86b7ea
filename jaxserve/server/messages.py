"""Chat messages and the chat template's options: how a chat request becomes a prompt.

`Message` is one OpenAI message as the request sends it; `for_template` gives it as the chat
template reads it. `ChatOptions` are vLLM's template fields (on /v1/chat/completions and
/tokenize alike), checked into one `TemplateOptions`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any, Literal

from pydantic import Discriminator, StringConstraints, Tag

from jaxserve.server.errors import BadRequest
from jaxserve.server.served import Served
from jaxserve.server.validation import Strict

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class TextPart(Strict):
    type: Literal["text"]
    text: str


class ImageURL(Strict):
    url: NonEmpty  # data:image/...;base64,..., http(s)://... or file://... (allowed folders)
    # Images are seen at the size the model's image processor gives them; "low" and "high"
    # would ask for another, which jaxserve does not do, so only "auto" is taken.
    detail: Literal["auto"] | None = None


class ImagePart(Strict):
    type: Literal["image_url"]
    image_url: ImageURL


def _part_type(part: Any) -> str | None:
    """The branch of a content part, by its `type`: "TextPart" or "ImagePart" (class names as
    branch tags, so error paths skip them: `content[0].image_url`, not `.image_url.image_url`)."""
    kind = part.get("type") if isinstance(part, dict) else getattr(part, "type", None)
    return PART_TAGS.get(kind) if isinstance(kind, str) else None


PART_TAGS = {"text": "TextPart", "image_url": "ImagePart"}
# Image parts only where the served model takes images (`ServedLimits.images`).
ContentPart = Annotated[
    Annotated[TextPart, Tag("TextPart")]
    | Annotated[ImagePart, Served("image_part"), Tag("ImagePart")],
    Discriminator(
        _part_type,
        custom_error_type="content_part",
        custom_error_message="a content part's type must be 'text' or 'image_url'",
    ),
]


class Message(Strict):
    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    # What the SDK's own message objects carry when a reply is sent back; unused here.
    tool_calls: list[dict[str, Any]] | None = None
    function_call: dict[str, Any] | None = None
    refusal: str | None = None
    audio: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] | None = None

    @property
    def image_urls(self) -> list[str]:
        """The URLs of the message's images, in order."""
        if not isinstance(self.content, list):
            return []
        return [part.image_url.url for part in self.content if isinstance(part, ImagePart)]

    def for_template(self) -> dict[str, Any]:
        """The message as the chat template reads it: its text fields, content joined (or,
        where it holds images, as parts: `{"type": "text", "text": ...}` and
        `{"type": "image"}` where each image goes, as vision-language templates read them),
        and the tool calls of an assistant reply with their arguments as objects (templates
        write them with `tojson`)."""
        content: Any = self.content
        if isinstance(content, list) and self.image_urls:
            content = [
                {"type": "image"} if isinstance(part, ImagePart) else part.model_dump()
                for part in content
            ]
        elif isinstance(content, list):
            content = "".join(part.text for part in content if isinstance(part, TextPart))
        fields = {"role": self.role, "name": self.name, "tool_call_id": self.tool_call_id}
        message: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        message["content"] = content or ""
        if self.tool_calls:
            message["tool_calls"] = [_template_call(call) for call in self.tool_calls]
        return message


def _template_call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    try:
        arguments = json.loads(function["arguments"])
    except ValueError:
        return call
    return {**call, "function": {**function, "arguments": arguments}}


RESERVED_TEMPLATE_ARGS = frozenset(
    {"messages", "conversation", "tokenize", "add_generation_prompt", "continue_final_message",
     "chat_template", "tools", "documents"}
)  # fmt: skip


class ChatOptions(Strict):
    """How messages become a prompt: the chat template's options (vLLM's extras)."""

    add_generation_prompt: bool | None = None
    # Render the last (assistant) message open, so the reply continues it.
    continue_final_message: bool | None = None
    chat_template: NonEmpty | None = None  # a Jinja template instead of the model's
    chat_template_kwargs: dict[str, Any] | None = None  # extra template variables

    def template_options(self) -> TemplateOptions:
        """The options, checked: a 400 naming the field for a combination that cannot work."""
        if self.continue_final_message and self.add_generation_prompt:
            raise BadRequest(
                "continue_final_message and add_generation_prompt cannot both be true",
                param="continue_final_message",
            )
        kwargs = dict(self.chat_template_kwargs or {})
        clash = sorted(set(kwargs) & RESERVED_TEMPLATE_ARGS)
        if clash:
            raise BadRequest(
                f"chat_template_kwargs may not set {clash}: they are request fields",
                param="chat_template_kwargs",
            )
        final = bool(self.continue_final_message)
        return TemplateOptions(
            add_generation_prompt=not final and self.add_generation_prompt is not False,
            continue_final_message=final,
            chat_template=self.chat_template,
            kwargs=kwargs,
        )


@dataclasses.dataclass(frozen=True)
class TemplateOptions:
    """What `apply_chat_template` gets besides the messages."""

    add_generation_prompt: bool = True
    continue_final_message: bool = False
    chat_template: str | None = None
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
