"""Interface(fn) builds its UI from annotations, or from explicit components."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import pandas as pd
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
    assert next(d for d in demo.dependencies if d.api_name == "stream").is_generator


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


def test_each_annotation_gets_its_component() -> None:
    cases = {
        str: "Textbox",
        int: "Number",
        float: "Number",
        Annotated[int, (1, 9)]: "Slider",
        Annotated[float, (0.0, 1.0)]: "Slider",
        bool: "Checkbox",
        Literal["a", "b"]: "Dropdown",
        list[Literal["a", "b"]]: "CheckboxGroup",
        pd.DataFrame: "Dataframe",
        dict: "JSON",
        dict[str, int]: "JSON",
        str | None: "Textbox",
    }
    for hint, kind in cases.items():
        assert type(component_for(hint, label="x")).__name__ == kind, hint
    group = component_for(list[Literal["a", "b"]], label="tags", value=["b"])
    assert [v for _, v in group.choices] == ["a", "b"] and group.value == ["b"]
    with pytest.raises(TypeError, match="list\\[Literal"):
        component_for(list[int], label="xs")


def test_progress_parameter_is_not_an_input() -> None:
    def work(text: str, progress=gr.Progress()) -> str:  # noqa: B008
        return text

    demo = gr.Interface(work)
    assert [c.label for c in demo.input_components] == ["text"]


def test_tables_tags_and_streams_through_client(serve: Callable[[gr.Blocks], str]) -> None:
    def summarize(
        table: pd.DataFrame, tags: list[Literal["x", "y", "z"]]
    ) -> Iterator[tuple[pd.DataFrame, str]]:
        """Stream the sum of each column, then the picked tags."""
        total = table.sum(numeric_only=True).to_frame().T
        yield total, ""
        yield total, "+".join(tags)

    demo = gr.Interface(summarize)
    assert next(d for d in demo.dependencies if d.api_name == "summarize").is_generator
    client = Client(serve(demo), verbose=False)
    table = {"headers": ["a", "b"], "data": [[1, 2], [3, 4]], "metadata": None}
    job = client.submit(table, ["x", "z"], api_name="/summarize")
    outputs = list(job)
    frame, tags = outputs[-1]
    assert frame["headers"] == ["a", "b"] and frame["data"] == [[4, 6]]
    assert tags == "x+z"
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    endpoint = info["/summarize"]
    types = [p["python_type"]["type"] for p in endpoint["parameters"]]
    assert types[0].startswith("dict(headers: list[Any], data: list[list[Any]]")
    assert types[1] == "list[Literal['x', 'y', 'z']]"
    assert [r["component"] for r in endpoint["returns"]] == ["Dataframe", "Textbox"]


def test_display_only_arguments_of_gradio_apps_are_accepted() -> None:
    """Layout hints reach the page; purely cosmetic options are ignored, not errors."""
    with gr.Blocks():
        box = gr.Textbox(label="T", scale=2, min_width=80, container=False, key="t",
                         show_copy_button=True, autoscroll=False)  # fmt: skip
        num = gr.Number(scale=1)
    props = box.props()
    assert (props["scale"], props["min_width"], props["container"], props["key"]) == (
        2, 80, False, "t",
    )  # fmt: skip
    assert "show_copy_button" not in props and num.props()["scale"] == 1
