"""gr.Gallery: GalleryData in and out, images and videos, captions, types, API info."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image as PILImage

import webui as gr
from webui.components.gallery import GALLERY_DATA_SCHEMA

META = {"_type": "gradio.FileData"}


def test_postprocess_arrays_paths_urls_and_captions(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not really a video")
    with gr.Blocks() as demo:
        gallery = gr.Gallery(format="png")
    items = gallery.postprocess(
        [
            np.zeros((4, 5, 3), dtype=np.uint8),
            (gr.media.get_image("bus.png"), "a bus"),
            (str(clip), "a clip"),
            "https://example.com/cat.jpg",
        ]
    )
    assert Path(items[0]["image"]["path"]).suffix == ".png" and items[0]["caption"] is None
    assert items[1]["caption"] == "a bus" and items[1]["image"]["orig_name"] == "bus.png"
    assert "video" in items[2] and items[2]["video"]["mime_type"] == "video/mp4"
    assert items[3]["image"]["url"] == "https://example.com/cat.jpg"
    assert gallery.postprocess(None) == []
    with pytest.raises(gr.Error, match="list"):
        gallery.postprocess("one.png")
    demo.close()


def test_preprocess_types_and_file_types(tmp_path: Path) -> None:
    with gr.Blocks() as demo:
        paths = gr.Gallery()
        arrays = gr.Gallery(type="numpy", file_types=["image"])
    store = demo.files
    fd, partial = store.new_partial()
    with open(fd, "wb") as f:
        PILImage.new("RGB", (3, 2), (255, 0, 0)).save(f, format="PNG")
    path = str(store.commit_upload(partial, "sha", "red.png"))
    payload = [{"image": {"path": path, "meta": META}, "caption": "red"}]
    assert paths.preprocess(payload) == [(path, "red")]
    ((array, caption),) = arrays.preprocess(payload)
    assert array.shape == (2, 3, 3) and caption == "red"
    assert paths.preprocess([]) is None
    fd, partial = store.new_partial()
    with open(fd, "wb") as f:
        f.write(b"text")
    text = str(store.commit_upload(partial, "sha2", "notes.txt"))
    with pytest.raises(gr.Error, match="Invalid file type"):
        arrays.preprocess([{"image": {"path": text, "meta": META}}])
    demo.close()


def test_api_info_is_gradios_gallery_data() -> None:
    gallery = gr.Gallery(render=False)
    assert gallery.api_info() == GALLERY_DATA_SCHEMA
    assert GALLERY_DATA_SCHEMA["items"] == {
        "anyOf": [{"$ref": "#/$defs/GalleryImage"}, {"$ref": "#/$defs/GalleryVideo"}]
    }
    assert gallery.example_payload()[0]["image"]["orig_name"] == "bus.png"


def test_round_trip_files_up_and_down(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        given = gr.Gallery(label="given")
        flipped = gr.Gallery(label="flipped", type="pil")

        def flip(items: list[tuple[str, str | None]]) -> list[tuple[object, str]]:
            out = []
            for path, caption in items:
                with PILImage.open(path) as image:
                    out.append((image.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT), f"{caption}!"))
            return out

        given.change(flip, given, flipped, api_name="flip")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/flip"]
    assert info["parameters"][0]["component"] == "Gallery"
    assert info["parameters"][0]["python_type"]["type"] == (
        "list[dict(image: filepath, caption: str | None) | "
        "dict(video: filepath, caption: str | None)]"
    )
    source = gr.media.get_image("logo.png")
    result = client.predict([{"image": handle_file(source), "caption": "logo"}], api_name="/flip")
    assert result[0]["caption"] == "logo!"
    with PILImage.open(result[0]["image"]) as got, PILImage.open(source) as original:
        expected = original.convert("RGB").transpose(PILImage.Transpose.FLIP_LEFT_RIGHT)
        assert got.size == original.size
        assert np.abs(np.asarray(got.convert("RGB"), int) - np.asarray(expected, int)).mean() < 8


def test_an_empty_gallery_starts_as_gradios_empty_list() -> None:
    assert gr.Gallery(render=False).props()["value"] == []
