"""Layout blocks: Row, Column, Tabs/Tab, Accordion and Group hold other blocks."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from webui.events import Changeable, Expandable, Selectable
from webui.tree import BlockContext, open_layout


class _Layout(BlockContext):
    """A layout an event may return (`gr.Column(visible=False)`, `gr.Tabs(selected=1)`): it
    updates the props its constructor was given, as a returned component does."""

    constructor_args: dict[str, Any]
    _updatable: ClassVar[bool] = True

    def __new__(cls, *args: Any, **kwargs: Any) -> _Layout:
        self = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind_partial(None, *args, **kwargs)
            named = dict(list(bound.arguments.items())[1:])
            named.update(named.pop("kwargs", {}))
        except TypeError:
            named = dict(kwargs)  # __init__ raises the real error
        named.pop("render", None)
        self.constructor_args = named
        return self


Size = int | str | None  # pixels for an int, else a CSS length ("50vh")


class Row(_Layout):
    """Blocks side by side; with `height`/`max_height` the row scrolls when taller."""

    block_type = "row"

    def __init__(
        self,
        *,
        variant: str = "default",
        equal_height: bool = False,
        height: Size = None,
        max_height: Size = None,
        min_height: Size = None,
        **kwargs: Any,
    ):
        for name, size in (
            ("height", height),
            ("max_height", max_height),
            ("min_height", min_height),
        ):
            if size is not None and (isinstance(size, bool) or not isinstance(size, int | str)):
                raise TypeError(f"Row({name}=...) must be pixels (int) or a CSS size, got {size!r}")
        self.variant = variant
        self.equal_height = equal_height
        self.height, self.max_height, self.min_height = height, max_height, min_height
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        sizes = {
            "height": self.height,
            "max_height": self.max_height,
            "min_height": self.min_height,
        }
        return {
            "variant": self.variant,
            "equal_height": self.equal_height,
            **sizes,
            **super().props(),
        }


class Column(_Layout):
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


class Tabs(Changeable, Selectable, _Layout):
    block_type = "tabs"

    def __init__(self, *, selected: int | str | None = None, **kwargs: Any):
        """`selected` is the `id` of the Tab shown first (Gradio's)."""
        self.implicit = False  # made by a Tab opened outside any Tabs
        self.selected = selected
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"selected": self.selected, **super().props()}


class Tab(Selectable, _Layout):
    """One tab; opened outside a Tabs it gets one made for it, as in Gradio."""

    block_type = "tabitem"

    def __init__(
        self,
        label: str | None = None,
        *,
        id: int | str | None = None,  # Gradio's name, though it shadows the builtin
        interactive: bool = True,
        scale: int | None = None,
        render_children: bool = False,
        **kwargs: Any,
    ):
        """`render_children=True` puts the tab's blocks in the page (hidden) before the tab is
        first shown, so media in it can preload; by default they enter it when first shown.
        `scale` is the width of the tab's button relative to the other tabs' (Gradio's);
        `interactive=False` disables the button."""
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int)):
            raise TypeError(f"Tab(scale=...) must be an int, got {scale!r}")
        self.scale = scale
        self.label = label
        self.tab_id = id  # what Tabs(selected=...) names
        self.interactive = interactive
        if not isinstance(render_children, bool):
            raise TypeError(f"Tab(render_children=...) must be a bool, got {render_children!r}")
        self.render_children = render_children
        super().__init__(render=False, **{k: v for k, v in kwargs.items() if k != "render"})
        if kwargs.get("render", True):
            self.render()

    def render(self) -> Tab:
        parent = open_layout()
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
        props.update(label=self.label, interactive=self.interactive, name="tab", id=self.tab_id)
        props["scale"] = self.scale
        props["render_children"] = self.render_children
        props["_selectable"] = self.root is not None and self.root.has_listener(self, "select")
        return props


TabItem = Tab


class Accordion(Expandable, _Layout):
    block_type = "accordion"

    def __init__(self, label: str | None = None, *, open: bool = True, **kwargs: Any):
        self.label = label
        self.open = open
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"label": self.label, "open": self.open, **super().props()}


class Group(_Layout):
    block_type = "group"
