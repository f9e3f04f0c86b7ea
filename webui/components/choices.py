"""Choice components: Dropdown and Radio, whose payload must be one of their choices."""

from __future__ import annotations

import logging
from typing import Any

from webui.components.base import Component, check_choices
from webui.components.options import check_buttons
from webui.errors import Error
from webui.events import Changeable, Focusable, KeyUppable, Selectable

logger = logging.getLogger(__name__)


class _Choice(Changeable, Selectable, Component):
    """Shared by Dropdown and Radio: `type="value"` passes the value, `"index"` its position."""

    look_options = frozenset({"info", "buttons"})

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
        name = self.__class__.__name__  # `type` is the parameter here
        check_buttons(type_name=name, given=kwargs.get("buttons"), offered=(), custom=True)
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


class _FirstChoice:
    """Dropdown's default value: its first choice. An explicit None selects nothing (Gradio 5+)."""

    def __repr__(self) -> str:
        return "<the first choice>"


FIRST_CHOICE = _FirstChoice()


class Dropdown(Focusable, KeyUppable, _Choice):
    """One choice; with `multiselect=True` a list of them, shown as chips in the page, which
    lets the user pick at most `max_choices` (the server, as Gradio's, does not count them).
    `allow_custom_value=True` also takes values that are no choice."""

    block_type = "dropdown"

    def __init__(
        self,
        choices: list[Any] | None = None,
        value: Any = FIRST_CHOICE,
        *,
        multiselect: bool = False,
        max_choices: int | None = None,
        allow_custom_value: bool = False,
        filterable: bool = True,
        **kwargs: Any,
    ):
        if max_choices is not None and (
            isinstance(max_choices, bool) or not isinstance(max_choices, int) or max_choices < 1
        ):
            raise ValueError(f"Dropdown max_choices must be a positive int, got {max_choices!r}")
        if not filterable and allow_custom_value:
            logger.warning(
                "Dropdown(allow_custom_value=True) is filterable; filterable=False ignored"
            )
            filterable = True  # as Gradio: typing a custom value needs the text field
        if max_choices is not None and not multiselect:
            logger.warning("Dropdown ignores max_choices without multiselect=True, as Gradio does")
        self.multiselect = bool(multiselect)
        self.max_choices = max_choices if self.multiselect else None
        self.allow_custom_value = allow_custom_value
        self.filterable = filterable
        first = value is FIRST_CHOICE
        if first:
            value = None
        if self.multiselect and isinstance(value, str | int | float) and not callable(value):
            value = [value]  # as Gradio: one value selected
        super().__init__(choices, value, **kwargs)
        if first and not self.multiselect and self.choices:
            self.value = self.choices[0][1]  # Gradio's Dropdown starts on its first choice
        if self.value is None and self.multiselect and self.value_fn is None:
            self.value = []

    @property
    def python_type(self) -> str:  # type: ignore[override]
        single = super().python_type
        return f"list[{single}]" if self.multiselect else single

    def _check(self, payload: Any) -> Any:
        if self.allow_custom_value or self._has_choice(payload):
            return payload
        raise Error(f"Value: {payload!r} is not in the list of choices: {self._values()}")

    def _index(self, payload: Any) -> int | None:
        return self._values().index(payload) if self._has_choice(payload) else None

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        if not self.multiselect:
            self._check(payload)
            return self._index(payload) if self.type == "index" else payload
        if not isinstance(payload, list):
            raise Error(f"{self.label or 'Dropdown'} (multiselect) expects a list, got {payload!r}")
        values = [self._check(item) for item in payload]
        return [self._index(v) for v in values] if self.type == "index" else values

    def postprocess(self, value: Any) -> Any:
        if value is None or not self.multiselect:
            return value
        return list(value) if isinstance(value, list | tuple) else [value]

    def api_info(self) -> dict[str, Any]:
        if self.multiselect:  # Gradio's schema, custom values or not
            return {"type": "array", "items": {"type": "string", "enum": self._values()}}
        if self.allow_custom_value:
            return {"type": "string"}
        return {"type": "string", "enum": self._values()}

    def example_payload(self) -> Any:
        if self.multiselect:
            return [self.choices[0][1]] if self.choices else []
        return super().example_payload()

    def own_props(self) -> dict[str, Any]:
        return {
            **super().own_props(),
            "multiselect": self.multiselect,
            "max_choices": self.max_choices,
            "allow_custom_value": self.allow_custom_value,
            "filterable": self.filterable,
        }


class Radio(_Choice):
    block_type = "radio"

    def api_info(self) -> dict[str, Any]:
        return {"enum": self._values(), "title": "Radio", "type": "string"}
