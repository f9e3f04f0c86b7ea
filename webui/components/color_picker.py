"""ColorPicker: a colour as a hex string ("#ff0000"), as Gradio's gr.ColorPicker."""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.events import Changeable, Focusable, Submittable


class ColorPicker(Changeable, Submittable, Focusable, Component):
    block_type = "colorpicker"
    python_type = "str"
    example: ClassVar[Any] = "#000000"

    def __init__(self, value: str | None = None, *, info: str | None = None, **kwargs: Any):
        self.info = info
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else str(payload)

    def postprocess(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": "string"}

    def own_props(self) -> dict[str, Any]:
        return {} if self.info is None else {"info": self.info}
