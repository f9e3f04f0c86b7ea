"""ImageEditor: a background image, drawn layers and their composite, as Gradio's
gr.ImageEditor. The wire value is EditorData {background, layers, composite, id}; `fn` gets
EditorValue {"background", "layers", "composite"} with each image as `type` asks.

The browser side uploads a background (or takes it from the webcam) and sends composite =
background with no layers (it has no drawing tools); Gradio's blob path (`id`, accept_blobs) is
refused. With `fixed_canvas=True` the server fits each image into `canvas_size` (scaled with its
aspect kept, centred on a transparent canvas), where Gradio's page does it.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    EXAMPLES_URL,
    FILE_DATA_META_SCHEMA,
    FILE_DATA_SCHEMA,
    Uploadable,
    example_file,
    input_path,
    loaded_type,
    require,
    store_of,
)
from webui.components.image_files import check_image_type, read_image, save_image
from webui.components.options import check_buttons
from webui.components.webcam_options import WebcamOptions
from webui.errors import Error
from webui.events import Changeable, Selectable, _listener

_OPTIONAL_FILE = {"anyOf": [{"$ref": "#/$defs/FileData"}, {"type": "null"}], "default": None}
EDITOR_DATA_SCHEMA: dict[str, Any] = {
    "$defs": {
        "FileData": {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"},
        "FileDataMeta": FILE_DATA_META_SCHEMA,
    },
    "properties": {
        "background": {**_OPTIONAL_FILE, "title": "Background"},
        "layers": {
            "default": [],
            "items": {"$ref": "#/$defs/FileData"},
            "title": "Layers",
            "type": "array",
        },
        "composite": {**_OPTIONAL_FILE, "title": "Composite"},
        "id": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Id"},
    },
    "title": "EditorData",
    "type": "object",
}


class ImageEditor(Changeable, Selectable, Uploadable, Component):
    block_type = "imageeditor"
    python_type = (
        "dict(background: filepath | None, layers: list[filepath], composite: filepath | None, "
        "id: str | None)"
    )
    example: ClassVar[Any] = {
        "background": example_file(EXAMPLES_URL + "bus.png"),
        "layers": [],
        "composite": None,
    }
    apply = _listener("apply")

    def __init__(
        self,
        value: Any = None,
        *,
        type: str = "numpy",
        image_mode: str = "RGBA",
        format: str = "webp",
        sources: list[str] | None = None,
        height: int | str | None = None,
        width: int | str | None = None,
        layers: bool = True,
        canvas_size: tuple[int, int] = (800, 800),
        fixed_canvas: bool = False,
        webcam_options: WebcamOptions | None = None,
        buttons: list[str] | None = None,
        **kwargs: Any,
    ):
        """`canvas_size` (width, height) is the blank canvas the page shows, and with
        `fixed_canvas=True` the size every image is fitted into; `webcam_options` set the
        page's webcam (mirror, getUserMedia constraints); `buttons` among "download" and
        "fullscreen" (all by default)."""
        check_image_type("ImageEditor", type)
        self.type, self.image_mode, self.format = type, image_mode, format.lower().lstrip(".")
        self.sources = list(sources) if sources is not None else ["upload", "webcam", "clipboard"]
        self.height, self.width, self.layers = height, width, layers
        if not (
            isinstance(canvas_size, tuple | list)
            and len(canvas_size) == 2
            and all(isinstance(n, int) and n > 0 for n in canvas_size)
        ):
            raise ValueError(f"ImageEditor canvas_size is (width, height), got {canvas_size!r}")
        self.canvas_size, self.fixed_canvas = (canvas_size[0], canvas_size[1]), fixed_canvas
        if webcam_options is not None and not isinstance(webcam_options, WebcamOptions):
            raise TypeError(
                f"ImageEditor webcam_options is a gr.WebcamOptions, got {webcam_options!r}"
            )
        self.webcam_options = webcam_options or WebcamOptions()
        check_buttons(
            type_name="ImageEditor",
            given=buttons,
            offered=("download", "fullscreen"),
            unsupported={"share": "it shares to Hugging Face Spaces"},
        )
        self.buttons = buttons
        super().__init__(value, **kwargs)

    def _image(self, payload: Any) -> Any:
        path = input_path(self, payload)
        if path is not None and self.fixed_canvas:
            path = _fit_to_canvas(self, path)
        return None if path is None else read_image(path, self.type, self.image_mode)

    def preprocess(self, payload: Any) -> dict[str, Any] | None:
        if payload is None:
            return None
        if not isinstance(payload, dict):
            raise Error("ImageEditor takes EditorData {'background', 'layers', 'composite'}")
        if payload.get("id") is not None:
            raise Error("ImageEditor blob uploads (EditorData.id) are not supported by webui")
        layers = [self._image(layer) for layer in payload.get("layers") or []]
        return {
            "background": self._image(payload.get("background")),
            "layers": [layer for layer in layers if layer is not None],
            "composite": self._image(payload.get("composite")),
        }

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        ndarray = loaded_type("numpy", "ndarray")
        pil_image = loaded_type("PIL.Image", "Image")
        single = (str, *(t for t in (ndarray, pil_image) if t is not None))
        if isinstance(value, single):
            value = {"background": value, "layers": [], "composite": value}
        elif not isinstance(value, dict):
            raise Error("ImageEditor shows a dict of images or a single image")
        return {
            "background": save_image(self, value.get("background"), self.format),
            "layers": [save_image(self, layer, self.format) for layer in value.get("layers") or []],
            "composite": save_image(self, value.get("composite"), self.format),
            "id": None,
        }

    def api_info(self) -> dict[str, Any]:
        return EDITOR_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "image_mode": self.image_mode,
            "format": self.format,
            "sources": self.sources,
            "height": self.height,
            "width": self.width,
            "layers": self.layers,
            "canvas_size": list(self.canvas_size),
            "fixed_canvas": self.fixed_canvas,
            "webcam_options": dataclasses.asdict(self.webcam_options),
            "buttons": self.buttons,
        }


def _fit_to_canvas(editor: ImageEditor, path: Path) -> Path:
    """The image at `path` scaled to fit the editor's canvas (its aspect kept) and centred on a
    transparent canvas of that size, as Gradio's fixed_canvas; a PNG in the app's cache."""
    pil = require("PIL.Image", "pillow", "ImageEditor(fixed_canvas=True)")
    width, height = editor.canvas_size
    with pil.open(path) as opened:
        image = opened.convert("RGBA")
    scale = min(width / image.width, height / image.height)
    fitted = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    canvas = pil.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return store_of(editor).cache_bytes(buffer.getvalue(), "canvas.png")


class Sketchpad(ImageEditor):
    """Gradio's template: an ImageEditor with no image sources, to draw on a blank canvas."""

    is_template = True

    def __init__(self, value: Any = None, *, sources: list[str] | None = None, **kwargs: Any):
        super().__init__(value, sources=list(sources or ()), **kwargs)


class Paint(ImageEditor):
    """Gradio's template: like Sketchpad, a blank canvas with no image sources."""

    is_template = True

    def __init__(self, value: Any = None, *, sources: list[str] | None = None, **kwargs: Any):
        super().__init__(value, sources=list(sources or ()), **kwargs)


class ImageMask(ImageEditor):
    """Gradio's template: an ImageEditor for drawing a mask over an uploaded image."""

    is_template = True
