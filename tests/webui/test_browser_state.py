"""gr.BrowserState: the browser's value or the default reaches `fn`; outputs are JSON."""

from __future__ import annotations

from collections.abc import Callable

from gradio_client import Client

import webui as gr


def test_missing_value_is_the_default() -> None:
    state = gr.BrowserState({"count": 0}, storage_key="k", render=False)
    assert state.preprocess(None) == {"count": 0}
    assert state.preprocess({"count": 3}) == {"count": 3}
    assert state.api_info() == {"type": {}, "description": "any json-serializable value"}
    assert state.example_payload() == "test"


def test_props_carry_the_storage_key_and_default() -> None:
    state = gr.BrowserState([1, 2], storage_key="saved", render=False)
    props = state.props()
    assert props["storage_key"] == "saved" and props["default_value"] == [1, 2]
    assert "value" not in props  # the value lives in the browser
    assert gr.BrowserState(render=False).storage_key != gr.BrowserState(render=False).storage_key


def test_round_trip_sends_and_returns_the_value(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        saved = gr.BrowserState({"count": 0})
        button = gr.Button()
        button.click(lambda s: {"count": s["count"] + 1}, saved, saved, api_name="bump")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/bump"]
    assert info["parameters"][0]["component"] == "Browserstate"
    assert client.predict({"count": 4}, api_name="/bump") == {"count": 5}
