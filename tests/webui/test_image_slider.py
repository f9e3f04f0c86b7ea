"""ImageSlider: pairs of images in and out, Gradio's SliderData schema, checked arguments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import json_schema_to_python_type
from PIL import Image as PILImage

import webui as gr

META = {"_type": "gradio.FileData"}


def upload(demo: gr.Blocks, image: PILImage.Image, name: str) -> dict:
    fd, partial = demo.files.new_partial()
    with open(fd, "wb") as f:
        image.save(f, format="PNG")
    return {"path": str(demo.files.commit_upload(partial, name, name)), "meta": META}


def test_pairs_round_trip_as_arrays_pil_and_paths() -> None:
    with gr.Blocks() as demo:
        arrays = gr.ImageSlider()
        pils = gr.ImageSlider(type="pil", format="png")
        paths = gr.ImageSlider(type="filepath")
    red = PILImage.new("RGB", (4, 3), (255, 0, 0))
    payload = [upload(demo, red, "a.png"), None]
    before, after = arrays.preprocess(payload)
    assert before.shape == (3, 4, 3) and after is None
    assert isinstance(pils.preprocess(payload)[0], PILImage.Image)
    assert paths.preprocess(payload)[0].endswith("a.png")
    out = pils.postprocess((red, np.zeros((3, 4, 3), np.uint8)))
    assert [Path(item["path"]).suffix for item in out] == [".png", ".png"]
    with PILImage.open(out[0]["path"]) as first:
        assert first.getpixel((0, 0)) == (255, 0, 0)
    assert arrays.postprocess((red, None))[1] is None and arrays.postprocess(None) is None
    assert Path(arrays.postprocess((red, red))[0]["path"]).suffix == ".webp"  # Gradio's default
    with pytest.raises(gr.Error, match="pair of images"):
        arrays.postprocess(red)
    demo.close()


def test_schema_reads_as_gradio_types_it() -> None:
    slider = gr.ImageSlider(render=False)
    assert json_schema_to_python_type(slider.api_info()) == (
        "tuple[filepath | None, filepath | None] | None"
    )


def test_props_and_refused_arguments() -> None:
    props = gr.ImageSlider(slider_position=30, render=False).own_props()
    assert props["slider_position"] == 30 and props["buttons"] == ["download", "fullscreen"]
    assert props["max_height"] == 500
    with pytest.raises(ValueError, match="slider_position"):
        gr.ImageSlider(slider_position=130, render=False)
    with pytest.raises(ValueError, match="buttons"):
        gr.ImageSlider(buttons=["share"], render=False)
    with pytest.raises(ValueError, match="type"):
        gr.ImageSlider(type="bytes", render=False)
    with pytest.raises(ValueError, match="image_mode"):
        gr.ImageSlider(image_mode="RGBX", render=False)
    assert gr.ImageSlider(image_mode=None, render=False).own_props()["image_mode"] is None


def test_an_update_moves_the_handle_and_files_cross_the_client(
    serve: Callable[[gr.Blocks], str], tmp_path: Path
) -> None:
    with gr.Blocks() as demo:
        position = gr.Slider(0, 100, value=50)
        slider = gr.ImageSlider(type="pil", format="png")
        position.change(
            lambda p: gr.ImageSlider(slider_position=p), position, slider, api_name="move"
        )
        gr.Button().click(lambda pair: pair[::-1], slider, slider, api_name="swap")
    client = Client(serve(demo), verbose=False)
    assert client.predict(0, api_name="/move") == {"slider_position": 0, "__type__": "update"}
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    PILImage.new("RGB", (4, 3), (255, 0, 0)).save(red)
    PILImage.new("RGB", (4, 3), (0, 0, 255)).save(blue)
    first, second = client.predict([handle_file(red), handle_file(blue)], api_name="/swap")
    with PILImage.open(first) as image:
        assert image.getpixel((0, 0)) == (0, 0, 255)
    with PILImage.open(second) as image:
        assert image.getpixel((0, 0)) == (255, 0, 0)
