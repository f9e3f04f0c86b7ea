"""gr.WatermarkOptions: an image pasted onto every image an Image component shows.

Gradio also watermarks videos with ffmpeg; webui does not transcode, so `gr.Video` refuses a
watermark image (see webui/components/video.py). Pillow and numpy load only for a watermark.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from webui.components.filedata import loaded_type, require
from webui.errors import Error

POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
_PADDING = 10  # pixels between the watermark and the edges it is placed against


@dataclasses.dataclass
class WatermarkOptions:
    """A watermark image and where it goes.

    Args:
        watermark: a file path, PIL image or numpy array [H, W, C]; None for no watermark.
        position: one of POSITIONS (10 px from those edges) or (x, y) of its top-left pixel.
            A watermark that would not fit there goes to the bottom right, as in Gradio.
    """

    watermark: Any = None
    position: tuple[int, int] | str = "bottom-right"

    def __post_init__(self) -> None:
        loaded = (loaded_type("PIL.Image", "Image"), loaded_type("numpy", "ndarray"))
        accepted = (str, os.PathLike, *(t for t in loaded if t is not None))
        if self.watermark is not None and not isinstance(self.watermark, accepted):
            raise ValueError(
                "WatermarkOptions watermark must be a file path, a PIL image, a numpy array or "
                f"None, got {type(self.watermark).__name__}"
            )
        if isinstance(self.position, str):
            if self.position not in POSITIONS:
                raise ValueError(
                    f"WatermarkOptions position must be one of {POSITIONS} or (x, y), "
                    f"got {self.position!r}"
                )
        elif not (
            isinstance(self.position, tuple)
            and len(self.position) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in self.position)
        ):
            raise ValueError(
                f"WatermarkOptions position (x, y) must be two ints, got {self.position!r}"
            )

    @classmethod
    def of(cls, watermark: Any) -> WatermarkOptions:
        """`watermark=` as Gradio's Image takes it: options, a bare image or None."""
        if watermark is None or isinstance(watermark, cls):
            return watermark or cls()
        return cls(watermark=watermark)


def _open(image: Any, pil: Any) -> Any:
    if isinstance(image, str | os.PathLike):
        try:
            with pil.open(image) as opened:
                opened.load()
                return opened.copy()
        except (OSError, pil.UnidentifiedImageError):
            raise Error(
                f"the watermark {os.fspath(image)!r} is not an image Pillow can read"
            ) from None
    ndarray = loaded_type("numpy", "ndarray")
    if ndarray is not None and isinstance(image, ndarray):
        return pil.fromarray(image)
    return image


def _corner(options: WatermarkOptions, base: tuple[int, int], mark: tuple[int, int]) -> tuple:
    (width, height), (mark_width, mark_height) = base, mark
    far_x, far_y = width - mark_width - _PADDING, height - mark_height - _PADDING
    if isinstance(options.position, tuple):
        x, y = options.position
    else:
        vertical, horizontal = options.position.split("-")
        x = _PADDING if horizontal == "left" else far_x
        y = _PADDING if vertical == "top" else far_y
    if x < 0 or y < 0 or x + mark_width > width or y + mark_height > height:
        return far_x, far_y  # does not fit: bottom right, as Gradio falls back
    return x, y


def apply_watermark(image: Any, options: WatermarkOptions) -> Any:
    """`image` (a PIL image) with the watermark pasted over it, its alpha as the mask; the
    image keeps its mode. Unchanged when the options hold no watermark."""
    if options.watermark is None:
        return image
    pil = require("PIL.Image", "pillow", "Image(watermark=...)")
    mark = _open(options.watermark, pil).convert("RGBA")
    mode = image.mode
    stamped = image.convert("RGBA")
    stamped.paste(mark, _corner(options, stamped.size, mark.size), mask=mark)
    return stamped.convert(mode)
