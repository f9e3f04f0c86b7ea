"""Load events of components whose value is a function: Gradio calls it on each page load (and
on each tick of `every=`, and on a change of `inputs=`), through an ordinary event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webui.component import Component
from webui.dependency import add_dependency
from webui.timer import Timer
from webui.tree import _render_parent

if TYPE_CHECKING:
    from webui.root import Root


def attach_load_events(root: Root) -> None:
    """Declare the pending load event of each component, after the app's own events, in the
    order Gradio does (so fn_index and API info match)."""
    for block in list(root.blocks.values()):
        if not isinstance(block, Component) or block.load_event_to_attach is None:
            continue
        fn, every, inputs = block.load_event_to_attach
        block.load_event_to_attach = None
        listed = [inputs] if isinstance(inputs, Component) else list(inputs or [])
        targets = [(c.id, "change") for c in listed if hasattr(c, "change")]
        timer = every if isinstance(every, Timer) else None
        if isinstance(every, int | float):  # seconds: a new Timer in the app, as Gradio makes
            token = _render_parent.set(root)
            try:
                timer = Timer(every)
            finally:
                _render_parent.reset(token)
        if timer is not None:
            targets.append((timer.id, "tick"))
        targets.append((root.id, "load"))
        add_dependency(
            root,
            targets,
            fn,
            inputs,
            block,
            show_progress="hidden" if len(targets) > 1 else "full",
            timer=timer,
        )
