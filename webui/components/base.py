"""The Component contract: a block with a value that crosses the wire as a typed JSON payload."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

from webui.blocks import Block


class Component(Block):
    """A block with a value.

    Subclasses say how a wire payload becomes the value `fn` receives (`preprocess`), how `fn`'s
    return value becomes a payload (`postprocess`), and the JSON schema of that payload
    (`api_info`), which gradio_client reads to type the endpoint.
    """

    skip_api: ClassVar[bool] = False
    python_type: ClassVar[str] = "Any"
    example: ClassVar[Any] = None

    def __init__(
        self,
        value: Any = None,
        *,
        label: str | None = None,
        show_label: bool | None = None,
        interactive: bool | None = None,
        visible: bool = True,
        elem_id: str | None = None,
        elem_classes: list[str] | str | None = None,
        render: bool = True,
    ):
        # A callable value is called once here; Gradio re-runs it on each page load (not yet).
        self.value = value() if callable(value) else value
        self.label = label
        self.show_label = show_label
        self.interactive = interactive
        super().__init__(visible=visible, elem_id=elem_id, elem_classes=elem_classes, render=render)

    def preprocess(self, payload: Any) -> Any:
        return payload

    def postprocess(self, value: Any) -> Any:
        return value

    def api_info(self) -> dict[str, Any]:
        return {}

    def example_payload(self) -> Any:
        return self.example

    def initial_value(self) -> Any:
        """A fresh copy of the starting value, so sessions never share a mutable default."""
        return copy.deepcopy(self.value)

    def own_props(self) -> dict[str, Any]:
        """Props particular to the subclass; merged into `props()`."""
        return {}

    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        if self.value is not None:
            props["value"] = self.postprocess(self.value)
        props.update(self.own_props())
        for key in ("label", "show_label", "interactive"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        props.update(super().props())
        props["_selectable"] = False
        return props

    def config(self) -> dict[str, Any]:
        config = super().config()
        if not self.skip_api:
            info = self.api_info()
            config.update(
                api_info=info,
                api_info_as_input=info,
                api_info_as_output=info,
                example_inputs=self.example_payload(),
            )
        return config


def check_choices(
    choices: list[Any] | None, name: str
) -> tuple[list[tuple[str, Any]], Callable[[Any], bool]]:
    """Normalise choices to (display, value) pairs and return a membership test on values."""
    pairs: list[tuple[str, Any]] = []
    for choice in choices or []:
        if isinstance(choice, tuple | list):
            if len(choice) != 2:
                raise ValueError(f"{name} choice {choice!r} must be a value or (label, value)")
            pairs.append((str(choice[0]), choice[1]))
        else:
            pairs.append((str(choice), choice))
    values = [v for _, v in pairs]
    return pairs, lambda v: v in values
