"""AnnotatedImage: boxes and masks become coloured PNG layers over the base image."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client.utils import json_schema_to_python_type
from PIL import Image as PILImage

import webui as gr


def rgba(path: str) -> np.ndarray:
    with PILImage.open(path) as image:
        return np.array(image.convert("RGBA"))


def test_boxes_and_masks_in_the_label_colour() -> None:
    with gr.Blocks() as demo:
        annotated = gr.AnnotatedImage(color_map={"banana": "#a89a00"})
    base = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30))
    mask[5, 6] = 0.25
    out = annotated.postprocess((base, [((2, 3, 12, 13), "banana"), (mask, "apple")]))
    assert out["image"]["path"].endswith(".webp")
    assert [a["label"] for a in out["annotations"]] == ["banana", "apple"]
    box = rgba(out["annotations"][0]["image"]["path"])
    assert box.shape == (20, 30, 4)
    assert tuple(box[3, 2]) == (0xA8, 0x9A, 0x00, 255)  # the border is opaque
    assert tuple(box[8, 7]) == (0xA8, 0x9A, 0x00, 128)  # the inside is half transparent
    assert box[0, 0, 3] == 0 and box[14, 14, 3] == 0
    segment = rgba(out["annotations"][1]["image"]["path"])
    assert tuple(segment[5, 6]) == (255, 0, 0, 64)  # no colour given: red
    assert segment[5, 7, 3] == 0
    demo.close()


def test_base_image_from_a_path_and_bad_values(tmp_path) -> None:
    path = tmp_path / "base.png"
    PILImage.new("RGB", (8, 6)).save(path)
    with gr.Blocks() as demo:
        annotated = gr.AnnotatedImage()
    out = annotated.postprocess((str(path), [((0, 0, 4, 4), "a")]))
    assert rgba(out["annotations"][0]["image"]["path"]).shape == (6, 8, 4)
    with pytest.raises(gr.Error, match=r"\[H, W\]"):
        annotated.postprocess((str(path), [(np.zeros((2, 2)), "a")]))
    with pytest.raises(gr.Error, match="x1, y1, x2, y2"):
        annotated.postprocess((str(path), [((0, 0, 4), "a")]))
    with pytest.raises(gr.Error, match="base image"):
        annotated.postprocess((42, []))
    assert annotated.preprocess(None) is None
    back = annotated.preprocess(out)
    assert back[0].endswith(".png") and back[1][0][1] == "a"
    demo.close()


def test_schema_props_and_refusals() -> None:
    annotated = gr.AnnotatedImage(color_map={"a": "#fff"}, show_legend=False, render=False)
    assert json_schema_to_python_type(annotated.api_info()) == (
        "dict(image: filepath, annotations: list[dict(image: filepath, label: str)])"
    )
    props = annotated.own_props()
    assert props["show_legend"] is False and props["color_map"] == {"a": "#fff"}
    with pytest.raises(ValueError, match="hex"):
        gr.AnnotatedImage(color_map={"a": "green"}, render=False)
    with pytest.raises(ValueError, match="buttons"):
        gr.AnnotatedImage(buttons=["download"], render=False)
