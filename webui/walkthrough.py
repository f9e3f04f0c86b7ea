"""Walkthrough and Step: a step-by-step workflow, as Gradio's gr.Walkthrough and gr.Step.

The page shows the steps' labels as a numbered bar and one Step's contents at a time: the one
whose `id` is the Walkthrough's `selected` (the first step when none matches). An event that
returns `gr.Walkthrough(selected=id)` moves to that step; clicking an interactive step's label
moves there too and fires the Step's `select` and the Walkthrough's `change` and `select`.
"""

from __future__ import annotations

from typing import Any

from webui.events import Changeable, Selectable
from webui.layouts import _Layout
from webui.tree import open_layout


class Walkthrough(Changeable, Selectable, _Layout):
    block_type = "walkthrough"

    def __init__(self, *, selected: int | None = None, **kwargs: Any):
        """`selected` is the `id` of the Step shown first (Gradio's)."""
        if selected is not None and (isinstance(selected, bool) or not isinstance(selected, int)):
            raise ValueError(f"Walkthrough selected must be a Step's numeric id, got {selected!r}")
        self.selected = selected
        self.implicit = False  # made by a Step opened outside any Walkthrough
        super().__init__(**kwargs)

    def props(self) -> dict[str, Any]:
        return {"selected": self.selected, **super().props()}


class Step(Selectable, _Layout):
    """One step of a Walkthrough."""

    block_type = "walkthroughstep"

    def __init__(
        self,
        label: str | None = None,
        visible: bool = True,
        interactive: bool = True,
        *,
        id: int | None = None,  # Gradio's name, though it shadows the builtin
        scale: int | None = None,
        **kwargs: Any,
    ):
        if id is not None and (isinstance(id, bool) or not isinstance(id, int)):
            raise ValueError(f"Step id must be a number, got {id!r}")
        self.label = label
        self.step_id = id  # what Walkthrough(selected=...) names
        self.interactive = interactive
        self.scale = scale
        super().__init__(visible=visible, **kwargs)

    def render(self) -> Step:
        """Opened outside a Walkthrough it gets one made for it (consecutive steps share
        it), as Gradio does for a Step, like a Tab outside Tabs."""
        parent = open_layout()
        if parent is not None and self._id is None and not isinstance(parent, Walkthrough):
            last = parent.children[-1] if parent.children else None
            if isinstance(last, Walkthrough) and last.implicit:
                walkthrough = last
            else:
                walkthrough = Walkthrough()
                walkthrough.implicit = True
            with walkthrough:
                return super().render()  # type: ignore[return-value]
        return super().render()  # type: ignore[return-value]

    def props(self) -> dict[str, Any]:
        props = super().props()
        props.update(label=self.label, interactive=self.interactive, id=self.step_id)
        if self.scale is not None:
            props["scale"] = self.scale
        props["_selectable"] = self.root is not None and self.root.has_listener(self, "select")
        return props
