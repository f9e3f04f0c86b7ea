"""Sidebar: a collapsible panel at the left or right edge of the page, as Gradio's gr.Sidebar."""

from __future__ import annotations

from typing import Any

from webui.events import _listener
from webui.tree import BlockContext


class Sidebar(BlockContext):
    block_type = "sidebar"
    expand = _listener("expand")
    collapse = _listener("collapse")

    def __init__(
        self,
        label: str | None = None,
        *,
        open: bool = True,
        width: int | str = 320,
        position: str = "left",
        **kwargs: Any,
    ):
        if position not in ("left", "right"):
            raise ValueError(f"Sidebar position must be 'left' or 'right', got {position!r}")
        self.label, self.open, self.width, self.position = label, open, width, position
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        own = {"label": self.label, "open": self.open, "width": self.width}
        return {**own, "position": self.position, **super().props()}
