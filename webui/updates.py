"""Prop updates: `update(**props)` or a returned component changes an output's props, not only
its value, for the session that ran the event.

On the wire an update is `{"__type__": "update", <prop>: <value>, ...}` in place of the output's
payload, with `value` (when given) postprocessed by the output component. The session keeps a
copy of the component rebuilt with the new props, so later events of that session preprocess
against them (a Dropdown given new choices accepts the new choices).
"""

from __future__ import annotations

from typing import Any

from webui.component import Component

UPDATE = "update"


def update(**props: Any) -> dict[str, Any]:
    """Return from an event function to change props of its output: `update(visible=False)`."""
    return {"__type__": UPDATE, **props}


def skip() -> dict[str, Any]:
    """Return to leave an output exactly as it is."""
    return {"__type__": UPDATE}


def update_props(value: Any) -> dict[str, Any] | None:
    """The props an event result asks to change, or None when it is a plain value.

    A component instance returned from `fn` (e.g. `Textbox(visible=False)`) updates the props
    its constructor was given, `value` included.
    """
    if isinstance(value, dict) and value.get("__type__") == UPDATE:
        return {k: v for k, v in value.items() if k != "__type__"}
    if isinstance(value, Component) or getattr(value, "_updatable", False):
        return dict(value.constructor_args)  # a component or a layout (webui.layouts)
    return None


def apply_update(component: Component, props: dict[str, Any]) -> tuple[Component, Any]:
    """The session's new copy of `component` and the update payload to send for it."""
    props = dict(props)
    has_value = "value" in props
    value = props.pop("value", None)
    props.pop("render", None)
    changed = component.with_props(props) if props else component
    shown = changed.props()
    payload: dict[str, Any] = {"__type__": UPDATE}
    for key, given in props.items():
        if key in changed.constructor_args:  # names the component does not take are dropped
            payload[key] = shown.get(key, given)
    if has_value:
        payload["value"] = changed.postprocess(value)
    return changed, payload
