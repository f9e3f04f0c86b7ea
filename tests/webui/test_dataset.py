"""gr.Dataset used directly: what a click passes for each `type`, and its config."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client

import webui as gr


def test_click_passes_values_index_or_both(serve: Callable[[gr.Blocks], str]) -> None:
    samples = [["a", 1], ["b", 2]]
    with gr.Blocks() as demo:
        out = gr.Textbox()
        for kind in ("values", "index", "tuple"):
            table = gr.Dataset(components=["text", "number"], samples=samples, type=kind)
            table.click(repr, table, out, api_name=kind)
    client = Client(serve(demo), verbose=False)
    assert client.predict(1, api_name="/values") == "['b', 2]"
    assert client.predict(1, api_name="/index") == "1"
    assert client.predict(0, api_name="/tuple") == "(0, ['a', 1])"
    with pytest.raises(Exception, match=r"sample 5 is not in 0\.\.1"):
        client.predict(5, api_name="/index")


def test_props_and_refusals() -> None:
    with gr.Blocks():
        table = gr.Dataset(
            components=[gr.Textbox(label="Word", render=False)],
            samples=[["x"], ["y"]],
            sample_labels=["first", "second"],
            samples_per_page=1,
        )
    props = table.props()
    assert props["headers"] == ["Word"] and props["sample_labels"] == ["first", "second"]
    assert props["samples"] == [["x"], ["y"]] and props["samples_per_page"] == 1
    assert table.postprocess(["y"]) == 1 and table.postprocess(["z"]) is None
    with pytest.raises(ValueError, match="type must be one of"):
        gr.Dataset(type="rows")
    with pytest.raises(ValueError, match="2 samples"):
        gr.Dataset(samples=[["a"], ["b"]], sample_labels=["only one"])
