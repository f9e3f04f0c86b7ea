"""The UI an Interface infers from a function's type annotations, when it is given no components."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Annotated, Any, Literal

from webui.components import (
    JSON,
    Checkbox,
    CheckboxGroup,
    Component,
    Dataframe,
    Dropdown,
    Number,
    Slider,
    Textbox,
)
from webui.components.media import Image, image_type_for
from webui.progress import Progress


def _bounds(metadata: Sequence[Any]) -> tuple[float, float] | None:
    """(low, high) from Annotated metadata: a (low, high) tuple, or objects with ge/le."""
    for item in metadata:
        if isinstance(item, tuple) and len(item) == 2:
            return item
        low, high = getattr(item, "ge", None), getattr(item, "le", None)
        if low is not None and high is not None:
            return low, high
    return None


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _is_literal(args: tuple[Any, ...]) -> bool:
    return len(args) == 1 and typing.get_origin(args[0]) is Literal


def _is_dataframe_type(hint: Any) -> bool:
    """pandas.DataFrame, recognised without importing pandas."""
    module = getattr(hint, "__module__", "") or ""
    return module.split(".")[0] == "pandas" and getattr(hint, "__name__", "") == "DataFrame"


def component_for(hint: Any, *, label: str, value: Any = None) -> Component:
    """The component that edits or shows a value of type `hint`.

    str -> Textbox, int/float -> Number (Slider with Annotated bounds), bool -> Checkbox,
    Literal -> Dropdown, list[Literal] -> CheckboxGroup, dict -> JSON, pandas.DataFrame ->
    Dataframe, numpy.ndarray / PIL.Image.Image -> Image. Anything
    else is refused with the supported list, so a surprising UI never appears silently.
    """
    hint = _strip_optional(hint)
    metadata: Sequence[Any] = ()
    if typing.get_origin(hint) is Annotated:
        hint, *metadata = typing.get_args(hint)
    kwargs: dict[str, Any] = {"label": label, "render": False}
    if value is not None:
        kwargs["value"] = value
    if hint is bool:
        return Checkbox(**kwargs)
    if hint in (int, float):
        bounds = _bounds(metadata)
        if bounds is not None:
            step = 1 if hint is int else (bounds[1] - bounds[0]) / 100
            return Slider(bounds[0], bounds[1], step=step, **kwargs)
        return Number(precision=0 if hint is int else None, **kwargs)
    if hint is str:
        return Textbox(**kwargs)
    if typing.get_origin(hint) is Literal:
        return Dropdown(list(typing.get_args(hint)), **kwargs)
    if typing.get_origin(hint) is list and _is_literal(typing.get_args(hint)):
        return CheckboxGroup(list(typing.get_args(typing.get_args(hint)[0])), **kwargs)
    if _is_dataframe_type(hint):
        return Dataframe(**kwargs)
    if hint is dict or typing.get_origin(hint) is dict:
        return JSON(**kwargs)
    image_type = image_type_for(hint)  # numpy.ndarray -> Image(type="numpy"), PIL -> "pil"
    if image_type is not None:
        return Image(type=image_type, **kwargs)
    raise TypeError(
        f"cannot build a component for {label!r} of type {hint!r}: annotate it as str, int, "
        "float, bool, Literal[...], list[Literal[...]], dict, pandas.DataFrame, "
        "Annotated[int|float, (low, high)], numpy.ndarray or PIL.Image.Image, or pass "
        "components explicitly"
    )


def _yielded(hint: Any) -> Any:
    """The item type of Iterator[X] / Generator[X, ...] / AsyncIterator[X] return hints."""
    origin = typing.get_origin(hint)
    streams = (Iterator, AsyncIterator, typing.Generator, typing.AsyncGenerator)
    if origin is not None and any(origin is typing.get_origin(s) or origin is s for s in streams):
        return typing.get_args(hint)[0]
    return hint


def infer_components(fn: Callable[..., Any]) -> tuple[list[Component], list[Component]]:
    """Input components from `fn`'s parameters, output components from its return type."""
    hints = typing.get_type_hints(fn, include_extras=True)
    inputs = []
    for name, param in inspect.signature(fn).parameters.items():
        if isinstance(param.default, Progress):
            continue  # a progress bar the queue drives, not an input
        if name not in hints:
            raise TypeError(
                f"{fn.__name__}() parameter {name!r} has no type annotation; "
                "annotate it or pass inputs=[...]"
            )
        default = None if param.default is inspect.Parameter.empty else param.default
        inputs.append(component_for(hints[name], label=name, value=default))
    if "return" not in hints:
        raise TypeError(f"{fn.__name__}() has no return annotation; add one or pass outputs=")
    returned = _yielded(hints["return"])
    if typing.get_origin(returned) is tuple:
        parts = typing.get_args(returned)
        outputs = [component_for(h, label=f"output {i}") for i, h in enumerate(parts)]
    elif returned is type(None):
        outputs = []
    else:
        outputs = [component_for(returned, label="output")]
    return inputs, outputs
