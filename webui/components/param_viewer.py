"""ParamViewer: a table of parameters (type, description, default), as Gradio's gr.ParamViewer.

The value is `{name: {"type": str, "description": str, "default": str | None}}` and crosses the
wire as it is. The page lists each parameter with its type and default in monospace and its
description as sanitized Markdown; a row opens to show the details (the header's toggle opens
or closes them all). Types are not syntax-highlighted (webui has no highlighter, as in `Code`);
`language` is kept as the rows' `data-language`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webui.components.base import Component
from webui.events import Changeable, _listener

_LANGUAGES = ("python", "typescript")


def check_parameters(value: Any) -> dict[str, dict[str, Any]]:
    """`value` as a dict of parameter dicts (Gradio's keys: type, description, default; the
    page shows those), values kept as given."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            "ParamViewer value must be a dict of parameter name -> {type, description, "
            f"default}}, got {type(value).__name__}"
        )
    checked: dict[str, dict[str, Any]] = {}
    for name, parameter in value.items():
        if not isinstance(parameter, Mapping):
            raise ValueError(f"ParamViewer parameter {name!r} must be a dict, got {parameter!r}")
        checked[str(name)] = dict(parameter)
    return checked


class ParamViewer(Changeable, Component):
    block_type = "paramviewer"
    upload = _listener("upload")  # declared by Gradio's ParamViewer; nothing in the page fires it
    python_type = "Dict[Any, Any]"
    example: ClassVar[Any] = {
        "array": {"type": "numpy", "description": "any valid json", "default": "None"}
    }

    def __init__(
        self,
        value: Mapping[str, Mapping[str, Any]] | None = None,
        language: str = "python",
        linkify: list[str] | None = None,
        *,
        header: str | None = "Parameters",
        anchor_links: bool | str = False,
        max_height: int | str | None = None,
        **kwargs: Any,
    ):
        """`linkify` words found in a type or description become links to the anchor
        `#h-<word in lowercase>`; `anchor_links` (True, or a prefix) gives each row an id
        (`<prefix>-param-<name>`) and a link to it; `header` None hides the header and toggle."""
        if language not in _LANGUAGES:
            raise ValueError(f"ParamViewer language must be one of {_LANGUAGES}, got {language!r}")
        if linkify is not None and not all(isinstance(word, str) for word in linkify):
            raise ValueError(f"ParamViewer linkify must be a list of strings, got {linkify!r}")
        if not isinstance(anchor_links, bool | str):
            raise ValueError("ParamViewer anchor_links must be a bool or a string prefix")
        self.language, self.linkify, self.header = language, linkify or [], header
        self.anchor_links, self.max_height = anchor_links, max_height
        if not callable(value):
            value = check_parameters(value)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> Any:
        return check_parameters(payload)

    def postprocess(self, value: Any) -> Any:
        return check_parameters(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": {}, "description": "any valid json"}

    def own_props(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "linkify": self.linkify,
            "header": self.header,
            "anchor_links": self.anchor_links,
            "max_height": self.max_height,
        }
