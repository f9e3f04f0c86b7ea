"""gr.MultimodalTextbox: {"text", "files"} in and out, file types, API info as Gradio's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

import webui as gr
from webui.components.multimodal import MULTIMODAL_DATA_SCHEMA


def test_postprocess_text_dicts_and_files() -> None:
    with gr.Blocks() as demo:
        box = gr.MultimodalTextbox()
    assert box.postprocess(None) == {"text": "", "files": []}
    assert box.postprocess("hi") == {"text": "hi", "files": []}
    out = box.postprocess({"files": [gr.media.get_image("bus.png")]})
    assert out["text"] == "" and out["files"][0]["orig_name"] == "bus.png"
    with pytest.raises(gr.Error, match="string or a dictionary"):
        box.postprocess(3)
    with pytest.raises(gr.Error, match="'text' to be a string"):
        box.postprocess({"text": 3})
    demo.close()


def test_api_info_is_gradios_multimodal_data() -> None:
    box = gr.MultimodalTextbox(render=False)
    assert box.api_info() == MULTIMODAL_DATA_SCHEMA
    assert box.python_type == "dict(text: str, files: list[filepath])"
    assert box.example_payload()["text"] == "Describe this image"


def test_round_trip_with_files(serve: Callable[[gr.Blocks], str], tmp_path: Path) -> None:
    with gr.Blocks() as demo:
        box = gr.MultimodalTextbox(file_types=[".txt"], label="box")
        shown = gr.MultimodalTextbox(label="shown")

        def shout(value: dict) -> dict:
            return {"text": value["text"].upper(), "files": value["files"]}

        box.submit(shout, box, shown, api_name="shout")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/shout"]
    assert info["parameters"][0]["component"] == "Multimodaltextbox"
    note = tmp_path / "note.txt"
    note.write_text("attached")
    result = client.predict({"text": "hi", "files": [handle_file(note)]}, api_name="/shout")
    assert result["text"] == "HI" and Path(result["files"][0]).read_text() == "attached"
    png = tmp_path / "x.png"
    png.write_bytes(b"x")
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict({"text": "", "files": [handle_file(png)]}, api_name="/shout")


def test_an_empty_box_starts_as_gradios_empty_value() -> None:
    assert gr.MultimodalTextbox(render=False).props()["value"] == {"text": "", "files": []}
