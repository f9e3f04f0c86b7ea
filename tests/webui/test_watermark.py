"""gr.WatermarkOptions: checked fields, pasted onto Image outputs, refused by Video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import webui as gr
from webui.components.watermark import WatermarkOptions, apply_watermark

RED, BLUE = (255, 0, 0), (0, 0, 255)


def solid(size: tuple[int, int], color: tuple[int, int, int]) -> PILImage.Image:
    return PILImage.new("RGB", size, color)


def test_positions_place_the_mark_ten_pixels_from_the_edges() -> None:
    base, mark = solid((100, 60), RED), solid((20, 10), BLUE)
    corners = {
        "top-left": (10, 10),
        "top-right": (70, 10),
        "bottom-left": (10, 40),
        "bottom-right": (70, 40),
    }
    for position, (x, y) in corners.items():
        stamped = apply_watermark(base, WatermarkOptions(mark, position))
        assert stamped.getpixel((x, y)) == BLUE and stamped.getpixel((x + 19, y + 9)) == BLUE
        assert stamped.getpixel((x - 1, y)) == RED and stamped.getpixel((x + 20, y)) == RED
        assert stamped.mode == "RGB" and base.getpixel((x, y)) == RED  # a copy


def test_xy_position_and_the_fallback_when_it_does_not_fit() -> None:
    base, mark = solid((100, 60), RED), solid((20, 10), BLUE)
    assert apply_watermark(base, WatermarkOptions(mark, (0, 0))).getpixel((0, 0)) == BLUE
    off = apply_watermark(base, WatermarkOptions(mark, (95, 0)))
    assert off.getpixel((95, 0)) == RED and off.getpixel((70, 40)) == BLUE


def test_transparent_pixels_of_the_mark_leave_the_image() -> None:
    mark = PILImage.new("RGBA", (20, 10), (0, 0, 255, 0))
    mark.putpixel((0, 0), (0, 0, 255, 255))
    stamped = apply_watermark(solid((100, 60), RED), WatermarkOptions(mark, "top-left"))
    assert stamped.getpixel((10, 10)) == BLUE and stamped.getpixel((11, 10)) == RED


def test_bad_options_are_named() -> None:
    with pytest.raises(ValueError, match="position must be one of"):
        WatermarkOptions("a.png", "middle")
    with pytest.raises(ValueError, match="two ints"):
        WatermarkOptions("a.png", (1.5, 2))
    with pytest.raises(ValueError, match="file path, a PIL image"):
        WatermarkOptions(watermark=42)


def test_image_output_is_watermarked_from_arrays_and_paths(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    solid((8, 8), BLUE).save(logo)
    photo = tmp_path / "photo.png"
    solid((64, 48), RED).save(photo)
    with gr.Blocks() as demo:
        marked = gr.Image(watermark=WatermarkOptions(str(logo), "top-left"))
        bare = gr.Image(watermark=str(logo))  # a bare image: bottom right, as in Gradio
        plain = gr.Image()
    array = np.zeros((48, 64, 3), np.uint8)
    array[...] = RED
    for value in (array, str(photo)):
        with PILImage.open(marked.postprocess(value)["path"]) as out:
            assert out.convert("RGB").getpixel((10, 10)) == BLUE
    with PILImage.open(bare.postprocess(array)["path"]) as out:
        assert out.convert("RGB").getpixel((64 - 11, 48 - 11)) == BLUE
    with PILImage.open(plain.postprocess(str(photo))["path"]) as out:
        assert out.convert("RGB").getpixel((10, 10)) == RED
    demo.close()


def test_video_refuses_a_watermark_image() -> None:
    with pytest.raises(ValueError, match="ffmpeg"):
        gr.Video(watermark=gr.WatermarkOptions(watermark="logo.png"), render=False)
    assert gr.Video(watermark=gr.WatermarkOptions(), render=False).value is None
