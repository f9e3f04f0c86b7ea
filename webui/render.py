"""`gr.render`: a function that builds components and events again each time it is triggered.

Story: `@gr.render(inputs, triggers)` puts an empty Column where it is declared and an event
whose fn is the decorated function. When the event runs for a session, the function runs
inside a fresh copy of that Column (same id); the blocks it makes take new ids from the app,
and the events it declares are captured for that session alone (`SessionState.rendered`,
replacing those of the previous render), never added to the app's own event list. The event's
completed message carries `render_config` (the new blocks, the Column's layout and the new
events), from which the page rebuilds the Column and wires the events; a join naming one of
those events finds it in the session (`rendered_dependency`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from webui.capture import RenderCapture, capturing
from webui.component import Component
from webui.dependency import add_dependency
from webui.events import _target
from webui.layouts import Column
from webui.tree import Block, open_layout

if TYPE_CHECKING:
    from webui.processing import SessionState
    from webui.root import Root


class Renderable:
    """One `@gr.render` function, its Column and the event that re-runs it."""

    _ids = itertools.count()

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: list[Any],
        targets: list[tuple[int, str]],
        **options: Any,
    ):
        parent = open_layout()
        if parent is None or parent.root is None:
            raise RuntimeError("@gr.render must be used inside a `with gr.Blocks():` block")
        self.id = next(Renderable._ids)
        self.fn = fn
        self.root: Root = parent.root
        self.container: Column = Column()
        self.dependency = add_dependency(
            self.root, targets, fn, inputs, [], api_visibility="undocumented", **options
        )
        self.dependency.renderable = self

    def apply(self, state: SessionState, args: list[Any]) -> dict[str, Any]:
        """Run the function for one session; returns the page's `render_config`."""
        copy = Column(render=False)
        copy._id, copy.root = self.container.id, self.root
        capture = RenderCapture(ids=state.render_ids, render_id=self.id)
        with capturing(capture), copy:
            self.fn(*args)
        blocks = list(_subtree(copy))  # never in the app's table (see Blocks._register)
        for old in state.rendered_by.get(self.id, []):
            state.rendered.pop(old, None)
        state.rendered_by[self.id] = [d.id for d in capture.dependencies]
        state.rendered.update({d.id: d for d in capture.dependencies})
        return {
            "render_id": self.id,
            "layout": copy.layout(),
            "components": [block.config() for block in blocks],
            "dependencies": [d.config() for d in capture.dependencies],
        }


def _subtree(block: Block) -> Any:
    yield block
    for child in getattr(block, "children", []):
        yield from _subtree(child)


def render(
    inputs: Sequence[Any] | Any | None = None,
    triggers: Sequence[Any] | Any | None = None,
    *,
    queue: bool = True,
    trigger_mode: str | None = "always_last",
    concurrency_limit: int | str | None = None,
    concurrency_id: str | None = None,
    show_progress: str = "full",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a function that builds components (and their events) from `inputs`; it runs
    again on each trigger (default: page load and a change of any input), as Gradio's."""
    parent = open_layout()
    if parent is None or parent.root is None:
        raise RuntimeError("@gr.render must be used inside a `with gr.Blocks():` block")
    listed = [inputs] if isinstance(inputs, Component) else list(inputs or [])
    if triggers is None:
        targets = [(parent.root.id, "load")]
        targets += [(c.id, "change") for c in listed if hasattr(c, "change")]
    else:
        items = list(triggers) if isinstance(triggers, Sequence) else [triggers]
        targets = [(block.id, event) for block, event in map(_target, items)]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        Renderable(
            fn,
            listed,
            targets,
            queue=queue,
            trigger_mode=trigger_mode,
            concurrency_limit=concurrency_limit,
            concurrency_id=concurrency_id,
            show_progress=show_progress,
        )
        return fn

    return decorate
