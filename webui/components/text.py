"""Text components: Textbox (editable string) and Markdown (rendered string)."""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.options import check_buttons
from webui.events import Changeable, Copyable, Focusable, Selectable, Submittable


class Textbox(Changeable, Submittable, Selectable, Focusable, Copyable, Component):
    """`buttons=["copy"]` (or Gradio 5's `show_copy_button=True`) adds a Copy button, which
    fires `copy`; `info` is help text under the label."""

    block_type = "textbox"
    python_type = "str"
    example: ClassVar[Any] = "Hello!!"
    look_options = frozenset(
        {
            *("info", "buttons", "show_copy_button", "autoscroll", "autofocus", "max_length"),
            *("rtl", "text_align"),
        }
    )

    def __init__(
        self,
        value: str | None = None,
        *,
        lines: int = 1,
        max_lines: int | None = None,
        placeholder: str | None = None,
        type: str = "text",
        **kwargs: Any,
    ):
        if type not in ("text", "password", "email"):
            raise ValueError(f"Textbox type must be 'text', 'password' or 'email', got {type!r}")
        self.lines = lines
        self.max_lines = max_lines
        self.placeholder = placeholder
        self.type = type
        check_buttons(
            type_name="Textbox", given=kwargs.get("buttons"), offered=("copy",), custom=True
        )
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else str(payload)

    def postprocess(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": "string"}

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"type": self.type, "lines": self.lines}
        if self.max_lines is not None:
            props["max_lines"] = self.max_lines
        if self.placeholder is not None:
            props["placeholder"] = self.placeholder
        return props


class Markdown(Changeable, Copyable, Component):
    """`header_links=True` gives each heading an anchor link; `height`/`min_height`/
    `max_height` size the block (it scrolls); `buttons=["copy"]` adds a Copy button."""

    block_type = "markdown"
    python_type = "str"
    example: ClassVar[Any] = "# Hello!"
    look_options = frozenset(
        {"header_links", "height", "min_height", "max_height", "buttons", "show_copy_button"}
    )

    def __init__(self, value: str | None = None, **kwargs: Any):
        check_buttons(type_name="Markdown", given=kwargs.get("buttons"), offered=("copy",))
        super().__init__(value, **kwargs)

    def postprocess(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": "string"}
