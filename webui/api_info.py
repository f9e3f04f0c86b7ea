"""The two documents gradio_client reads on connect: `/config` and `/gradio_api/info`."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from webui.component import Component
from webui.urls import API_PREFIX

if TYPE_CHECKING:
    from webui.events import Dependency
    from webui.root import Root

# Gradio's version line that gradio_client keys features on: > 4.29.0 enables POST /cancel.
GRADIO_VERSION = "6.31.0"
_RESERVED = {"api_name", "fn_index", "result_callbacks"}


def build_config(blocks: Root, root: str) -> dict[str, Any]:
    """The `/config` document, with Gradio 6's keys."""
    components = [block.config() for block_id, block in blocks.blocks.items() if block_id != 0]
    layout = blocks.layout()
    dependencies = [d.config() for d in blocks.dependencies]
    return {
        "version": GRADIO_VERSION,
        "api_prefix": API_PREFIX,
        "mode": "blocks",
        "app_id": id(blocks),
        "dev_mode": False,
        "analytics_enabled": False,
        "components": components,
        "css": blocks.css,
        "connect_heartbeat": True,
        "js": blocks.js,
        "head": blocks.head,
        "footer_links": blocks.footer_links,
        "title": blocks.title,
        "space_id": None,
        "enable_queue": True,
        "show_error": blocks.show_error,
        "is_colab": False,
        "max_file_size": blocks.files.max_file_size,
        "stylesheets": [],
        "theme": "default",
        "protocol": "sse_v3",
        "fill_height": blocks.fill_height,
        "fill_width": blocks.fill_width,
        **blocks.pages.config(layout, components, dependencies),  # pages, and each one's blocks
        "mcp_server": False,
        "i18n_translations": None if blocks.i18n is None else blocks.i18n.translations,
        "dependencies": dependencies,
        "layout": layout,
        "username": None,
        "root": root,
    }


def _fn_parameters(dependency: Dependency) -> list[inspect.Parameter]:
    """The fn's positional parameters, in order; none where its signature is unknown."""
    if dependency.fn is None:
        return []
    try:
        signature = inspect.signature(dependency.fn)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in signature.parameters.values() if p.kind in kinds]


def _parameter_names(parameters: list[inspect.Parameter], count: int) -> list[str]:
    """One name per input: the fn's parameter names, `param_{i}` where unknown or reserved."""
    names = [p.name for p in parameters]
    return [
        names[i] if i < len(names) and names[i] not in _RESERVED else f"param_{i}"
        for i in range(count)
    ]


def component_name(component: Component) -> str:
    """Gradio's `component` field: its block name capitalised, so `Json`, `Barplot`, `Html`
    (Gradio's `type.capitalize()`), and a template such as ClearButton named as its parent."""
    cls = type(component)
    if cls.__dict__.get("is_template"):
        cls = cls.__mro__[1]
    return cls.__name__.capitalize()


def _describe(component: Component, fallback_label: str) -> dict[str, Any]:
    return {
        "label": component.label if component.label is not None else fallback_label,
        "type": component.api_info(),
        "python_type": {"type": component.python_type, "description": ""},
        "component": component_name(component),
    }


def endpoint_info(dependency: Dependency) -> dict[str, Any]:
    """One entry of `named_endpoints`: the typed parameters and returns, State left out."""
    parameters = []
    fn_parameters = _fn_parameters(dependency)
    names = _parameter_names(fn_parameters, len(dependency.inputs))
    for index, (component, name) in enumerate(zip(dependency.inputs, names, strict=True)):
        if component.skip_api:
            continue
        # As in Gradio: optional when the component starts with a value, or else when the
        # fn's own parameter defaults to None (the client then sends None).
        has_value = component.value is not None
        fn_default_none = index < len(fn_parameters) and fn_parameters[index].default is None
        parameters.append(
            {
                **_describe(component, f"parameter_{component.id}"),
                "parameter_name": name,
                "parameter_has_default": has_value or fn_default_none,
                "parameter_default": component.postprocess(component.value) if has_value else None,
                "example_input": component.example_payload(),
            }
        )
    returns = [_describe(c, f"value_{c.id}") for c in dependency.outputs if not c.skip_api]
    doc = inspect.getdoc(dependency.fn) if dependency.fn is not None else None
    description = dependency.api_description or (doc.split("\n\n")[0] if doc else "")
    return {
        "parameters": parameters,
        "returns": returns,
        "api_visibility": dependency.api_visibility,
        "description": description,
    }


def build_info(blocks: Root, *, all_endpoints: bool = False) -> dict[str, Any]:
    """The `/gradio_api/info` document; private endpoints never appear."""
    shown = {"public", "undocumented"} if all_endpoints else {"public"}
    named = {
        f"/{d.api_name}": endpoint_info(d)
        for d in blocks.dependencies
        if d.fn is not None and d.api_visibility in shown
    }
    return {"named_endpoints": named, "unnamed_endpoints": {}}
