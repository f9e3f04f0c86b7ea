"""gr.ColorPicker: hex strings in and out, API info as Gradio's, a gradio_client round trip."""

from __future__ import annotations

from collections.abc import Callable

from gradio_client import Client

import webui as gr


def test_color_picker_passes_hex_strings() -> None:
    picker = gr.ColorPicker("#ff0000", render=False)
    assert picker.preprocess("#00ff00") == "#00ff00"
    assert picker.postprocess(None) is None and picker.preprocess(None) is None
    assert picker.props()["value"] == "#ff0000"
    assert picker.api_info() == {"type": "string"} and picker.example_payload() == "#000000"


def test_color_picker_round_trip(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        color = gr.ColorPicker(label="color")
        shown = gr.Textbox()
        color.change(lambda c: c.upper(), color, shown, api_name="shout")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/shout"]
    assert info["parameters"][0]["component"] == "Colorpicker"
    assert client.predict("#a0b0c0", api_name="/shout") == "#A0B0C0"
