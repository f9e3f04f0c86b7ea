"""Interface(fn) builds its UI from annotations, or from explicit components."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import pytest
from gradio_client import Client

import webui as gr
from webui.interface import component_for


def classify(
    text: str,
    count: int,
    ratio: float,
    temperature: Annotated[float, (0.0, 2.0)],
    loud: bool,
    mode: Literal["fast", "slow"],
    extra: dict,
) -> str:
    """Echo the arguments."""
    return f"{text}|{count}|{ratio}|{temperature}|{loud}|{mode}|{extra}"


def test_annotations_choose_components() -> None:
    demo = gr.Interface(classify)
    kinds = [type(c).__name__ for c in demo.input_components]
    assert kinds == ["Textbox", "Number", "Number", "Slider", "Checkbox", "Dropdown", "JSON"]
    count, ratio, temperature = demo.input_components[1:4]
    assert count.precision == 0 and ratio.precision is None
    assert (temperature.minimum, temperature.maximum) == (0.0, 2.0)
    assert [v for _, v in demo.input_components[5].choices] == ["fast", "slow"]
    assert [type(c).__name__ for c in demo.output_components] == ["Textbox"]
    assert demo.dependencies[0].api_name == "classify"


def test_defaults_become_initial_values() -> None:
    def f(name: str = "bob", n: int = 3) -> str:
        return name * n

    demo = gr.Interface(f)
    assert [c.value for c in demo.input_components] == ["bob", 3]


def test_generator_return_streams() -> None:
    def stream(text: str) -> Iterator[str]:
        yield text

    demo = gr.Interface(stream)
    assert [type(c).__name__ for c in demo.output_components] == ["Textbox"]
    assert demo.dependencies[0].is_generator


def test_tuple_return_gives_one_output_each() -> None:
    def pair(x: int) -> tuple[str, bool]:
        return str(x), True

    assert [type(c).__name__ for c in gr.Interface(pair).output_components] == [
        "Textbox",
        "Checkbox",
    ]


def test_missing_or_unknown_annotation_is_a_clear_error() -> None:
    def bare(x) -> str:  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError, match="'x' has no type annotation"):
        gr.Interface(bare)
    with pytest.raises(TypeError, match="cannot build a component"):
        component_for(complex, label="z")


def test_explicit_components_still_work(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.Interface(
        lambda s: s.upper(), gr.Textbox(label="in"), gr.Textbox(label="out"), api_name="upper"
    )
    client = Client(serve(demo), verbose=False)
    assert client.predict("abc", api_name="/upper") == "ABC"


def test_inferred_interface_through_client(serve: Callable[[gr.Blocks], str]) -> None:
    client = Client(serve(gr.Interface(classify)), verbose=False)
    reply = client.predict("t", 2, 0.5, 1.5, True, "slow", {"k": 1}, api_name="/classify")
    assert reply == "t|2|0.5|1.5|True|slow|{'k': 1}"
    info = client.view_api(print_info=False, return_format="dict")
    types = [p["python_type"]["type"] for p in info["named_endpoints"]["/classify"]["parameters"]]
    assert types == [
        "str",
        "int",
        "float",
        "float",
        "bool",
        "Literal['fast', 'slow']",
        "Dict[Any, Any]",
    ]
