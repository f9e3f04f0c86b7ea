"""Layout blocks: Row, Column, Tabs/Tab, Accordion and Group hold other blocks."""

from __future__ import annotations

from typing import Any

from webui.blocks import BlockContext
from webui.events import Changeable, Selectable


class Row(BlockContext):
    block_type = "row"

    def __init__(self, *, variant: str = "default", equal_height: bool = False, **kwargs: Any):
        self.variant = variant
        self.equal_height = equal_height
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"variant": self.variant, "equal_height": self.equal_height, **super().props()}


class Column(BlockContext):
    block_type = "column"

    def __init__(
        self, *, scale: int = 1, min_width: int = 320, variant: str = "default", **kwargs: Any
    ):
        self.scale = scale
        self.min_width = min_width
        self.variant = variant
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        base = {"scale": self.scale, "min_width": self.min_width, "variant": self.variant}
        return {**base, **super().props()}


class Tabs(Changeable, Selectable, BlockContext):
    block_type = "tabs"

    def __init__(self, **kwargs: Any):
        self.implicit = False  # made by a Tab opened outside any Tabs
        super().__init__(**kwargs)


class Tab(Selectable, BlockContext):
    """One tab; opened outside a Tabs it gets one made for it, as in Gradio."""

    block_type = "tabitem"

    def __init__(self, label: str | None = None, *, interactive: bool = True, **kwargs: Any):
        self.label = label
        self.interactive = interactive
        super().__init__(render=False, **{k: v for k, v in kwargs.items() if k != "render"})
        if kwargs.get("render", True):
            self.render()

    def render(self) -> Tab:
        from webui.blocks import _render_parent

        parent = _render_parent.get()
        if parent is not None and self._id is None and not isinstance(parent, Tabs):
            last = parent.children[-1] if parent.children else None
            if isinstance(last, Tabs) and last.implicit:
                tabs = last  # consecutive tabs share one implicit Tabs, as in Gradio
            else:
                tabs = Tabs()
                tabs.implicit = True
            with tabs:
                return super().render()  # type: ignore[return-value]
        return super().render()  # type: ignore[return-value]

    def props(self) -> dict[str, Any]:
        props = super().props()
        props.update(label=self.label, interactive=self.interactive, name="tab")
        props["_selectable"] = self.root is not None and self.root.has_listener(self, "select")
        return props


TabItem = Tab


class Accordion(BlockContext):
    block_type = "accordion"

    def __init__(self, label: str | None = None, *, open: bool = True, **kwargs: Any):
        self.label = label
        self.open = open
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"label": self.label, "open": self.open, **super().props()}


class Group(BlockContext):
    block_type = "group"
