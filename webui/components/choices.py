"""Choice components: Dropdown and Radio, whose payload must be one of their choices."""

from __future__ import annotations

from typing import Any

from webui.components.base import Component, check_choices
from webui.errors import Error
from webui.events import Changeable, Focusable, KeyUppable, Selectable


class _Choice(Changeable, Selectable, Component):
    """Shared by Dropdown and Radio: `type="value"` passes the value, `"index"` its position."""

    def __init__(
        self,
        choices: list[Any] | None = None,
        value: Any = None,
        *,
        type: str = "value",
        **kwargs: Any,
    ):
        if type not in ("value", "index"):
            raise ValueError(f"{self.block_type} type must be 'value' or 'index', got {type!r}")
        self.choices, self._has_choice = check_choices(choices, self.block_type)
        self.type = type
        super().__init__(value, **kwargs)

    @property
    def python_type(self) -> str:  # type: ignore[override]
        return f"Literal[{', '.join(repr(v) for _, v in self.choices)}]"

    def _values(self) -> list[Any]:
        return [v for _, v in self.choices]

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        if not self._has_choice(payload):
            raise Error(f"Value: {payload!r} is not in the list of choices: {self._values()}")
        return self._values().index(payload) if self.type == "index" else payload

    def example_payload(self) -> Any:
        return self.choices[0][1] if self.choices else None

    def own_props(self) -> dict[str, Any]:
        return {"choices": [list(pair) for pair in self.choices], "type": self.type}


class Dropdown(Focusable, KeyUppable, _Choice):
    block_type = "dropdown"

    def __init__(
        self,
        choices: list[Any] | None = None,
        value: Any = None,
        *,
        multiselect: bool = False,
        allow_custom_value: bool = False,
        **kwargs: Any,
    ):
        if multiselect:
            raise NotImplementedError("Dropdown(multiselect=True) is not supported yet")
        self.allow_custom_value = allow_custom_value
        super().__init__(choices, value, **kwargs)
        if self.value is None and self.choices:
            self.value = self.choices[0][1]  # Gradio's Dropdown starts on its first choice

    def preprocess(self, payload: Any) -> Any:
        if self.allow_custom_value and payload is not None and not self._has_choice(payload):
            return payload
        return super().preprocess(payload)

    def api_info(self) -> dict[str, Any]:
        if self.allow_custom_value:
            return {"type": "string"}
        return {"type": "string", "enum": self._values()}

    def own_props(self) -> dict[str, Any]:
        return {**super().own_props(), "allow_custom_value": self.allow_custom_value}


class Radio(_Choice):
    block_type = "radio"

    def api_info(self) -> dict[str, Any]:
        return {"enum": self._values(), "title": "Radio", "type": "string"}
