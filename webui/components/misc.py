"""Components without a typed text payload: Button, JSON and the server-side State."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.options import check_buttons
from webui.errors import Error
from webui.events import Changeable, Clickable


class Button(Clickable, Component):
    """A button; as an input its value is its label. Not part of the typed API."""

    block_type = "button"
    skip_api = True
    python_type = "str"

    def __init__(
        self,
        value: str = "Run",
        *,
        variant: str = "secondary",
        size: str = "lg",
        interactive: bool = True,
        **kwargs: Any,
    ):
        """Clickable unless `interactive=False`, as in Gradio: a button that events update
        (an Interface's Submit and Stop) stays clickable."""
        self.variant = variant
        self.size = size
        super().__init__(value, interactive=interactive, **kwargs)

    def preprocess(self, payload: Any) -> Any:
        return self.value if payload is None else payload

    def own_props(self) -> dict[str, Any]:
        return {"variant": self.variant, "size": self.size}


def _json_default(value: Any) -> Any:
    """What Gradio's JSON makes of what JSON cannot encode: numpy arrays and numbers as lists
    and numbers; anything else as its text, parsed when that text is JSON (a datetime: text)."""
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return value.tolist()
    text = str(value)
    try:
        return json.loads(text)
    except ValueError:
        return text


class JSON(Changeable, Component):
    """Any JSON value; as in Gradio, numpy arrays become lists and other values their text."""

    block_type = "json"
    python_type = "Dict[Any, Any]"
    example: ClassVar[Any] = {"foo": "bar"}
    # show_indices numbers list items; heights make it scroll; buttons=[] hides its Copy button.
    look_options = frozenset({"show_indices", "height", "min_height", "max_height", "buttons"})

    def __init__(self, value: Any = None, **kwargs: Any):
        check_buttons(type_name="JSON", given=kwargs.get("buttons"), offered=("copy",), custom=True)
        super().__init__(value, **kwargs)

    def postprocess(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        try:
            return json.loads(json.dumps(value, default=_json_default))
        except (TypeError, ValueError) as e:
            raise Error(f"the JSON output cannot encode {type(value).__name__}: {e}") from None

    def api_info(self) -> dict[str, Any]:
        return {"type": {}, "description": "any valid json"}


class State(Changeable, Component):
    """A per-session value kept on the server; clients send null for it and receive null."""

    block_type = "state"
    skip_api = True

    def __init__(
        self,
        value: Any = None,
        render: bool = True,
        *,
        delete_callback: Callable[[Any], None] | None = None,
    ):
        """`delete_callback(value)` runs with a session's value when the session ends (its
        page closed, or the queue forgot it: see `webui.session_end`)."""
        if delete_callback is not None and not callable(delete_callback):
            raise TypeError(f"State(delete_callback=...) must be callable, got {delete_callback!r}")
        super().__init__(render=render)
        self.value = value  # kept as given: a callable is not called, and never postprocessed
        self.delete_callback = delete_callback
        if callable(value):  # as Gradio: a page load sets it, through an event of its own
            self.load_event_to_attach = (value, None, None)

    def initial_value(self) -> Any:
        """A callable value is a factory, called once per session."""
        return self.value() if callable(self.value) else super().initial_value()

    def props(self) -> dict[str, Any]:
        return {"time_to_live": None, "name": "state", "_selectable": False}


class ClearButton(Button):
    """A button that empties `components` (State goes back to its initial value) when clicked.

    Gradio clears in the browser with generated JavaScript; webui has no such path, so the
    click runs a small private event (not in the API, refused to gradio_client) that sends
    each component's empty payload.
    """

    is_template = True  # as Gradio's: the API info names it "Button"

    def __init__(
        self,
        components: Component | list[Component] | None = None,
        *,
        value: str = "Clear",
        variant: str = "secondary",
        **kwargs: Any,
    ):
        super().__init__(value, variant=variant, **kwargs)
        if components:
            self.add(components)

    def add(self, components: Component | list[Component]) -> ClearButton:
        """Also clear `components` when clicked."""
        targets = [components] if isinstance(components, Component) else list(components)
        states = [c for c in targets if isinstance(c, State)]
        shown = [c for c in targets if not isinstance(c, State)]

        def clear() -> Any:
            return _one_or_all([c.postprocess(None) for c in shown])

        quiet: dict[str, Any] = {"postprocess": False, "queue": False, "show_progress": "hidden"}
        if shown:
            self.click(clear, None, shown, api_visibility="private", **quiet)
        if states:  # a second event, a lambda as Gradio's (so later lambdas get Gradio's names)
            initial = lambda: _one_or_all([s.initial_value() for s in states])  # noqa: E731
            self.click(initial, None, states, api_visibility="undocumented", **quiet)
        return self


def _one_or_all(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values
