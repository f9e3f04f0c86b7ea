"""gr.ImageEditor: EditorData in and out as Gradio's, images as `type` asks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image as PILImage

import webui as gr
from webui.components.image_editor import EDITOR_DATA_SCHEMA


def test_api_info_is_gradios_editor_data() -> None:
    editor = gr.ImageEditor(render=False)
    assert editor.api_info() == EDITOR_DATA_SCHEMA
    assert set(EDITOR_DATA_SCHEMA["properties"]) == {"background", "layers", "composite", "id"}
    assert editor.example_payload()["layers"] == [] and editor.own_props()["format"] == "webp"


def test_postprocess_single_image_and_dict() -> None:
    with gr.Blocks() as demo:
        editor = gr.ImageEditor(format="png")
    single = editor.postprocess(np.zeros((2, 2, 3), dtype=np.uint8))
    assert single["background"]["path"] == single["composite"]["path"] and single["layers"] == []
    layered = editor.postprocess(
        {"background": gr.media.get_image("bus.png"), "layers": [], "composite": None}
    )
    assert layered["composite"] is None and layered["id"] is None
    with pytest.raises(gr.Error, match="dict of images"):
        editor.postprocess(3)
    demo.close()


def test_preprocess_refuses_blob_ids() -> None:
    with gr.Blocks() as demo:
        editor = gr.ImageEditor()
    with pytest.raises(gr.Error, match="blob"):
        editor.preprocess({"background": None, "layers": [], "composite": None, "id": "x"})
    assert editor.preprocess(None) is None
    demo.close()


def test_round_trip(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        editor = gr.ImageEditor(type="numpy", image_mode="RGB", label="editor")
        shape = gr.JSON()
        editor.change(lambda v: list(v["composite"].shape), editor, shape, api_name="shape")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/shape"]
    assert info["parameters"][0]["component"] == "Imageeditor"
    source = gr.media.get_image("bus.png")
    payload = {"background": handle_file(source), "layers": [], "composite": handle_file(source)}
    with PILImage.open(Path(source)) as image:
        width, height = image.size
    assert client.predict(payload, api_name="/shape") == [height, width, 3]


def test_templates_and_webcam_options() -> None:
    from webui.api_info import component_name

    for template in (gr.Sketchpad, gr.Paint):
        made = template(render=False)
        assert made.sources == [] and component_name(made) == "Imageeditor"
    assert component_name(gr.ImageMask(render=False)) == "Imageeditor"
    options = gr.WebcamOptions(constraints={"video": {"width": 64}})
    assert options.mirror is True
    assert gr.ImageEditor(webcam_options=options, render=False).type == "numpy"
