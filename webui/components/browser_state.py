"""BrowserState: a JSON value kept in the browser's localStorage, as Gradio's gr.BrowserState.

The browser reads the stored value when the page loads and sends it with each event, and stores
what an event returns; the server keeps nothing. A missing value is `default_value`.
Unlike Gradio, the stored value is not encrypted with `secret` (webui has no crypto in the
browser without a build step): keep secrets out of it.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.misc import JSON
from webui.errors import Error
from webui.events import Changeable


def _json_value(value: Any) -> Any:
    """The value as JSON carries it, encoded as Gradio's JSON component encodes it."""
    try:
        return JSON(render=False).postprocess(value)
    except Error:
        raise Error("BrowserState holds JSON values only") from None


class BrowserState(Changeable, Component):
    block_type = "browserstate"
    python_type = "str | float | bool | list | dict"
    example: ClassVar[Any] = "test"

    def __init__(
        self,
        default_value: Any = None,
        *,
        storage_key: str | None = None,
        secret: str | None = None,
        render: bool = True,
    ):
        self.default_value = _json_value(default_value)
        self.storage_key = storage_key or secrets.token_hex(8)
        self.secret = secret
        super().__init__(render=render)

    def preprocess(self, payload: Any) -> Any:
        return self.default_value if payload is None else payload

    def postprocess(self, value: Any) -> Any:
        return _json_value(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": {}, "description": "any json-serializable value"}

    def props(self) -> dict[str, Any]:
        return {
            "default_value": self.default_value,
            "storage_key": self.storage_key,
            "name": "browserstate",
            "visible": self.visible,
            "_selectable": False,
        }
