"""gr.Model3D: model files passed through, with Gradio's API info."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gradio_client import Client, handle_file

import webui as gr
from webui.components.filedata import FILE_DATA_SCHEMA


def test_props_and_api_info() -> None:
    model = gr.Model3D(clear_color=(1, 1, 1, 1), render=False)
    assert model.api_info() == FILE_DATA_SCHEMA
    assert model.own_props()["clear_color"] == [1, 1, 1, 1]
    assert model.example_payload()["orig_name"] == "Fox.gltf"


def test_round_trip(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        given = gr.Model3D(label="given")
        shown = gr.Model3D(label="shown")
        given.change(lambda path: path, given, shown, api_name="echo")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/echo"]
    assert info["parameters"][0]["component"] == "Model3d"
    source = gr.media.get_model3d("Duck.glb")
    result = client.predict(handle_file(source), api_name="/echo")
    assert Path(result).read_bytes() == Path(source).read_bytes()
