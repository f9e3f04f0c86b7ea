"""Images as files: what Gallery and ImageEditor share to read an input image as `type` asks
and to save a returned array, PIL image or path into the cache. numpy and Pillow load lazily."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from webui.components.base import Component
from webui.components.filedata import loaded_type, output_file_data, require, store_of
from webui.components.media import _as_uint8
from webui.errors import Error

IMAGE_TYPES = ("numpy", "pil", "filepath")


def check_image_type(owner: str, type: str) -> None:
    """Refuse an unknown `type`, or one whose library is not installed, when the app is built."""
    if type not in IMAGE_TYPES:
        raise ValueError(f"{owner} type must be one of {IMAGE_TYPES}, got {type!r}")
    if type != "filepath":
        require("PIL.Image", "pillow", f"{owner}(type={type!r})")
    if type == "numpy":
        require("numpy", "numpy", f"{owner}(type='numpy')")


def read_image(path: Path, type: str, mode: str | None = None) -> Any:
    """The image at a checked `path` as a str path, a PIL image or a numpy array [H, W, C]."""
    if type == "filepath":
        return str(path)
    pil = require("PIL.Image", "pillow", f"an image input of type {type!r}")
    try:
        with pil.open(path) as opened:
            opened.load()
            image = opened.convert(mode) if mode else opened.copy()
    except (pil.UnidentifiedImageError, OSError):
        raise Error("the input is not an image file that Pillow can read") from None
    except pil.DecompressionBombError:
        raise Error("the input image has too many pixels to decode safely") from None
    return image if type == "pil" else require("numpy", "numpy", "type='numpy'").array(image)


def save_image(component: Component, value: Any, format: str) -> dict[str, Any] | None:
    """FileData for a returned image: arrays and PIL images encoded as `format` into the cache,
    paths (or FileData dicts) copied there."""
    ndarray = loaded_type("numpy", "ndarray")
    if ndarray is not None and isinstance(value, ndarray):
        value = _image_from_array(value)
    pil_image = loaded_type("PIL.Image", "Image")
    if pil_image is not None and isinstance(value, pil_image):
        path = store_of(component).cache_bytes(_encoded(value, format), f"image.{format}")
        return output_file_data(component, path)
    if value is None or isinstance(value, str | os.PathLike | dict):
        return output_file_data(component, value)
    raise Error(
        f"{type(component).__name__} cannot show a {type(value).__name__} as an image; "
        "return a numpy array, a PIL image or a file path"
    )


def _image_from_array(array: Any) -> Any:
    np = sys.modules["numpy"]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise Error(f"image arrays must be [H, W], [H, W, 3] or [H, W, 4]; got {array.shape}")
    return require("PIL.Image", "pillow", "an image from a numpy array").fromarray(
        _as_uint8(np, array)
    )


def _encoded(image: Any, format: str) -> bytes:
    format = format.lower().lstrip(".")
    if format in ("jpg", "jpeg") and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    try:
        image.save(out, format="JPEG" if format == "jpg" else format.upper())
    except (KeyError, ValueError, OSError) as e:
        raise Error(f"cannot save an image as {format!r}: {e}") from None
    return out.getvalue()
