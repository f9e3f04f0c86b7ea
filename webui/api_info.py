"""The two documents gradio_client reads on connect: `/config` and `/gradio_api/info`."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from webui.components.base import Component

if TYPE_CHECKING:
    from webui.blocks import Blocks
    from webui.events import Dependency

# Gradio's version line that gradio_client keys features on: > 4.29.0 enables POST /cancel.
GRADIO_VERSION = "6.31.0"
API_PREFIX = "/gradio_api"
_RESERVED = {"api_name", "fn_index", "result_callbacks"}


def build_config(blocks: Blocks, root: str) -> dict[str, Any]:
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
        "js": None,
        "head": None,
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
        "pages": [["", "Home", True]],
        "page": {
            "": {
                "layout": layout,
                "components": [c["id"] for c in components],
                "dependencies": [d["id"] for d in dependencies],
            }
        },
        "mcp_server": False,
        "i18n_translations": None,
        "dependencies": dependencies,
        "layout": layout,
        "username": None,
        "root": root,
    }


def _parameter_names(dependency: Dependency) -> list[str]:
    """The fn's positional parameter names, one per input, `param_{i}` where unknown."""
    names: list[str] = []
    if dependency.fn is not None:
        try:
            signature = inspect.signature(dependency.fn)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            names = [p.name for p in signature.parameters.values() if p.kind in kinds]
    return [
        names[i] if i < len(names) and names[i] not in _RESERVED else f"param_{i}"
        for i in range(len(dependency.inputs))
    ]


def _describe(component: Component) -> dict[str, Any]:
    return {
        "label": component.label or type(component).__name__,
        "type": component.api_info(),
        "python_type": {"type": component.python_type, "description": ""},
        "component": type(component).__name__,
    }


def endpoint_info(dependency: Dependency) -> dict[str, Any]:
    """One entry of `named_endpoints`: the typed parameters and returns, State left out."""
    parameters = []
    for component, name in zip(dependency.inputs, _parameter_names(dependency), strict=True):
        if component.skip_api:
            continue
        has_default = component.value is not None
        parameters.append(
            {
                **_describe(component),
                "parameter_name": name,
                "parameter_has_default": has_default,
                "parameter_default": component.postprocess(component.value)
                if has_default
                else None,
                "example_input": component.example_payload(),
            }
        )
    returns = [_describe(c) for c in dependency.outputs if not c.skip_api]
    doc = inspect.getdoc(dependency.fn) if dependency.fn is not None else None
    description = dependency.api_description or (doc.split("\n\n")[0] if doc else "")
    return {
        "parameters": parameters,
        "returns": returns,
        "api_visibility": dependency.api_visibility,
        "description": description,
    }


def build_info(blocks: Blocks, *, all_endpoints: bool = False) -> dict[str, Any]:
    """The `/gradio_api/info` document; private endpoints never appear."""
    shown = {"public", "undocumented"} if all_endpoints else {"public"}
    named = {
        f"/{d.api_name}": endpoint_info(d)
        for d in blocks.dependencies
        if d.fn is not None and d.api_visibility in shown
    }
    return {"named_endpoints": named, "unnamed_endpoints": {}}
