"""Draggable: a layout whose children the user reorders by drag and drop (Gradio's gr.Draggable).

`orientation` "column" stacks the children, "row" places them side by side. A child layout (a
Row, a Group) moves as one piece. The order lives in the page only: it changes no value and
fires no event, as in Gradio, whose Draggable declares none.
"""

from __future__ import annotations

from typing import Any

from webui.layouts import _Layout

_ORIENTATIONS = ("row", "column")


class Draggable(_Layout):
    block_type = "draggable"

    def __init__(self, *, orientation: str = "column", **kwargs: Any):
        if orientation not in _ORIENTATIONS:
            raise ValueError(
                f"Draggable orientation must be one of {_ORIENTATIONS}, got {orientation!r}"
            )
        self.orientation = orientation
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"orientation": self.orientation, **super().props()}
