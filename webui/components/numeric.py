"""Numeric and boolean components: Number, Slider, Checkbox."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.options import check_buttons
from webui.errors import Error
from webui.events import Changeable, Focusable, Releasable, Selectable, Submittable


def _to_number(payload: Any, label: str) -> float | int:
    """A finite float from a number or numeric string; an int stays an int, as in Gradio."""
    if isinstance(payload, numbers.Integral) and not isinstance(payload, bool):
        return int(payload)  # numpy's integers too
    if isinstance(payload, numbers.Real) and not isinstance(payload, bool | float):
        payload = float(payload)  # numpy's floats
    if isinstance(payload, bool) or not isinstance(payload, int | float | str):
        raise Error(f"{label} expects a number, got {type(payload).__name__}: {payload!r}")
    try:
        number = float(payload)
    except ValueError:
        raise Error(f"{label} expects a number, got {payload!r}") from None
    if not math.isfinite(number):
        raise Error(f"{label} expects a finite number, got {payload!r}")
    return number


class Number(Changeable, Submittable, Focusable, Component):
    """A number; `precision=0` hands `fn` an int. With `precision=None` a number is passed
    as it came (an int stays an int, as in Gradio), and rounded to `precision` digits else."""

    block_type = "number"
    example: ClassVar[Any] = 3
    look_options = frozenset({"info", "placeholder", "buttons"})

    def __init__(
        self,
        value: float | None = None,
        *,
        precision: int | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        step: float = 1,
        **kwargs: Any,
    ):
        self.precision = precision
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        check_buttons(type_name="Number", given=kwargs.get("buttons"), offered=(), custom=True)
        super().__init__(value, **kwargs)

    @property
    def python_type(self) -> str:  # type: ignore[override]
        return "int" if self.precision == 0 else "float"

    def _round(self, number: float | int) -> float | int:
        if self.precision is None:
            return number
        if self.precision == 0:
            return round(number)
        return round(number, self.precision)

    def preprocess(self, payload: Any) -> float | int | None:
        if payload is None:
            return None
        number = _to_number(payload, self.label or "Number")
        if self.minimum is not None and number < self.minimum:
            raise Error(f"{self.label or 'Number'} must be >= {self.minimum}, got {number}")
        if self.maximum is not None and number > self.maximum:
            raise Error(f"{self.label or 'Number'} must be <= {self.maximum}, got {number}")
        return self._round(number)

    def postprocess(self, value: Any) -> float | int | str | None:
        if value is None:
            return None
        if isinstance(value, numbers.Real) and not math.isfinite(value):
            # JSON has no NaN. Gradio's encoder (orjson) writes a Python float's NaN as null
            # but has no rule for numpy's scalars and falls back to str(): "nan", "inf".
            return None if type(value) is float else str(value)
        return self._round(_to_number(value, self.label or "Number"))

    def api_info(self) -> dict[str, Any]:
        return {"type": "integer" if self.precision == 0 else "number"}

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"step": self.step}
        for key in ("precision", "minimum", "maximum"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props


class Slider(Changeable, Releasable, Component):
    block_type = "slider"
    python_type = "float"
    look_options = frozenset({"info"})

    def __init__(
        self,
        minimum: float = 0,
        maximum: float = 100,
        value: float | Callable[[], float] | None = None,
        *,
        step: float | None = None,
        randomize: bool = False,
        **kwargs: Any,
    ):
        """`randomize=True` draws the value on each page load, through a load event as in
        Gradio (its endpoint is /get_random_value)."""
        if minimum > maximum:
            raise ValueError(f"Slider minimum {minimum} is above its maximum {maximum}")
        self.minimum = minimum
        self.maximum = maximum
        self.step = step if step is not None else 1
        if randomize:
            value = self.get_random_value
        super().__init__(minimum if value is None else value, **kwargs)

    def get_random_value(self) -> float:
        # Gradio's: uniform on the step grid, rounded to the step's decimals. No docstring, as
        # in Gradio, whose API info shows the endpoint's description as "".
        steps = int((self.maximum - self.minimum) / self.step)
        value = self.minimum + self.step * random.randint(0, steps)
        decimals = max(str(self.step)[::-1].find("."), 0)
        return round(value, decimals) if decimals else value

    def preprocess(self, payload: Any) -> float | None:
        if payload is None:
            return None
        number = _to_number(payload, self.label or "Slider")
        if not self.minimum <= number <= self.maximum:
            raise Error(
                f"{self.label or 'Slider'} must be between {self.minimum} and "
                f"{self.maximum}, got {number}"
            )
        return int(number) if float(number).is_integer() and isinstance(self.step, int) else number

    def postprocess(self, value: Any) -> float | int | None:
        return None if value is None else _to_number(value, self.label or "Slider")

    def api_info(self) -> dict[str, Any]:
        description = f"numeric value between {self.minimum} and {self.maximum}"
        return {"type": "number", "description": description}

    def example_payload(self) -> Any:
        return self.minimum

    def own_props(self) -> dict[str, Any]:
        return {"minimum": self.minimum, "maximum": self.maximum, "step": self.step}


class Checkbox(Changeable, Selectable, Component):
    block_type = "checkbox"
    python_type = "bool"
    example: ClassVar[Any] = True
    look_options = frozenset({"info", "buttons"})

    def __init__(self, value: bool = False, **kwargs: Any):
        check_buttons(type_name="Checkbox", given=kwargs.get("buttons"), offered=(), custom=True)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> bool | None:
        if payload is not None and not isinstance(payload, bool):
            raise Error(f"{self.label or 'Checkbox'} expects true or false, got {payload!r}")
        return payload

    def postprocess(self, value: Any) -> bool | None:
        return None if value is None else bool(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": "boolean"}
