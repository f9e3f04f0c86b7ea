"""AnnotatedImage: a base image with coloured boxes or masks over it, each with a label.

`fn` returns `(image, [(mask, label), ...])`: a mask is a box `(x1, y1, x2, y2)` or an array
[H, W] of confidences in 0..1. Each becomes a transparent PNG in the label's colour (Gradio's
`color_map`, red otherwise); the wire value is Gradio's AnnotatedImageData. numpy and Pillow
load only when a value needs them.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    EXAMPLES_URL,
    FILE_DATA_META_SCHEMA,
    FILE_DATA_SCHEMA,
    example_file,
    file_data,
    input_path,
    loaded_type,
    output_file_data,
    require,
    store_of,
)
from webui.components.image_files import save_image
from webui.errors import Error
from webui.events import Changeable, Selectable

_FILE_DATA = {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"}
ANNOTATED_IMAGE_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Annotation": {
            "properties": {
                "image": {"$ref": "#/$defs/FileData"},
                "label": {"title": "Label", "type": "string"},
            },
            "required": ["image", "label"],
            "title": "Annotation",
            "type": "object",
        },
        "FileData": _FILE_DATA,
        "FileDataMeta": FILE_DATA_META_SCHEMA,
    },
    "properties": {
        "image": {"$ref": "#/$defs/FileData"},
        "annotations": {
            "items": {"$ref": "#/$defs/Annotation"},
            "title": "Annotations",
            "type": "array",
        },
    },
    "required": ["image", "annotations"],
    "title": "AnnotatedImageData",
    "type": "object",
}
_DEFAULT_RGB = (255, 0, 0)
_BOX_BORDER = 3  # pixels of a box drawn opaque; its inside is half transparent
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def _rgb(color: str) -> tuple[int, int, int]:
    match = _HEX.fullmatch(color.strip())
    if match is None:
        raise ValueError(f"AnnotatedImage color_map colours are hex like '#a89a00', got {color!r}")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class AnnotatedImage(Changeable, Selectable, Component):
    """An image with labelled regions; clicking a region fires `select` with its index."""

    block_type = "annotatedimage"
    python_type = "dict(image: filepath, annotations: list[dict(image: filepath, label: str)])"
    example: ClassVar[Any] = {"image": example_file(EXAMPLES_URL + "bus.png"), "annotations": []}

    def __init__(
        self,
        value: Any = None,
        *,
        format: str = "webp",
        show_legend: bool = True,
        height: int | str | None = None,
        width: int | str | None = None,
        color_map: dict[str, str] | None = None,
        buttons: list[str] | None = None,
        **kwargs: Any,
    ):
        for button in buttons or []:
            if button != "fullscreen":
                raise ValueError(f"AnnotatedImage buttons are ['fullscreen'], got {button!r}")
        self.colors = {label: _rgb(color) for label, color in (color_map or {}).items()}
        self.format = format.lower().lstrip(".")
        self.show_legend = show_legend
        self.height, self.width = height, width
        self.color_map = color_map
        self.buttons = ["fullscreen"] if buttons is None else list(buttons)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> tuple[str, list[tuple[str, str]]] | None:
        if payload is None:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("annotations"), list):
            raise Error("AnnotatedImage takes {'image': FileData, 'annotations': [...]}")
        base = str(input_path(self, payload.get("image")))
        annotations = []
        for item in payload["annotations"]:
            if not isinstance(item, dict) or not isinstance(item.get("label"), str):
                raise Error("each AnnotatedImage annotation is {'image': FileData, 'label': str}")
            annotations.append((str(input_path(self, item.get("image"))), item["label"]))
        return base, annotations

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise Error("AnnotatedImage shows (image, [(mask or box, label), ...])")
        base, sections = value
        np = require("numpy", "numpy", "AnnotatedImage")
        pil = require("PIL.Image", "pillow", "AnnotatedImage")
        base_data, size = self._base(base, np, pil)
        annotations = []
        for section in sections:
            if not isinstance(section, tuple | list) or len(section) != 2:
                raise Error("each AnnotatedImage annotation is (mask or box, label)")
            mask, label = section
            image = pil.fromarray(self._coloured(np, self._alpha(np, mask, size), str(label)))
            path = store_of(self).cache_bytes(_png(image), "mask.png")
            annotations.append({"image": file_data(path), "label": str(label)})
        return {"image": base_data, "annotations": annotations}

    def _base(self, base: Any, np: Any, pil: Any) -> tuple[dict[str, Any], tuple[int, int]]:
        """The base image's FileData and its (height, width)."""
        if isinstance(base, str | os.PathLike):
            data = output_file_data(self, base)
            with pil.open(data["path"]) as opened:  # type: ignore[index]
                return data, (opened.height, opened.width)  # type: ignore[return-value]
        ndarray, pil_image = loaded_type("numpy", "ndarray"), loaded_type("PIL.Image", "Image")
        if (ndarray is None or not isinstance(base, ndarray)) and (
            pil_image is None or not isinstance(base, pil_image)
        ):
            raise Error(
                "AnnotatedImage's base image is a file path, a PIL image or a numpy array, got "
                f"{type(base).__name__}"
            )
        height, width = np.asarray(base).shape[:2]
        return save_image(self, base, self.format), (height, width)  # type: ignore[return-value]

    @staticmethod
    def _alpha(np: Any, mask: Any, size: tuple[int, int]) -> Any:
        """Opacity [H, W] in 0..1 of a confidence mask or a box (x1, y1, x2, y2)."""
        if isinstance(mask, tuple | list):
            if len(mask) != 4:
                raise Error(f"an AnnotatedImage box is (x1, y1, x2, y2), got {mask!r}")
            x1, y1, x2, y2 = (int(v) for v in mask)
            alpha = np.zeros(size)
            alpha[y1:y2, x1:x2] = 0.5
            b = _BOX_BORDER
            alpha[y1:y2, x1 : x1 + b] = alpha[y1:y2, x2 - b : x2] = 1
            alpha[y1 : y1 + b, x1:x2] = alpha[y2 - b : y2, x1:x2] = 1
            return alpha
        alpha = np.asarray(mask, dtype=float)
        if alpha.shape != size:
            raise Error(f"an AnnotatedImage mask must be [H, W] = {list(size)}, got {alpha.shape}")
        return np.clip(alpha, 0, 1)

    def _coloured(self, np: Any, alpha: Any, label: str) -> Any:
        """RGBA pixels [H, W, 4]: the label's colour wherever alpha > 0, alpha as opacity."""
        rgba = np.zeros((*alpha.shape, 4), np.uint8)
        rgba[alpha > 0, :3] = self.colors.get(label, _DEFAULT_RGB)
        rgba[..., 3] = np.rint(alpha * 255).astype(np.uint8)
        return rgba

    def api_info(self) -> dict[str, Any]:
        return ANNOTATED_IMAGE_SCHEMA

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "format": self.format,
            "show_legend": self.show_legend,
            "color_map": self.color_map,
            "buttons": self.buttons,
        }
        for key in ("height", "width"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
