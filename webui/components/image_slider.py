"""ImageSlider: two images over each other with a handle that reveals one or the other.

The value is a pair `(before, after)`; on the wire a two-item list of ImageData (either may be
null), as Gradio's SliderData. Images are read and saved as Image's are (`type`, `format`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    EXAMPLES_URL,
    IMAGE_DATA_SCHEMA,
    Uploadable,
    check_initial_files,
    example_file,
    input_path,
)
from webui.components.image_files import check_image_type, read_image, save_image
from webui.errors import Error
from webui.events import Changeable, Selectable, Streamable

_IMAGE_OR_NULL = {"anyOf": [{"$ref": "#/$defs/ImageData"}, {"type": "null"}]}
SLIDER_DATA_SCHEMA: dict[str, Any] = {
    "$defs": {"ImageData": {k: v for k, v in IMAGE_DATA_SCHEMA.items()}},
    "anyOf": [
        {
            "maxItems": 2,
            "minItems": 2,
            "prefixItems": [_IMAGE_OR_NULL, _IMAGE_OR_NULL],
            "type": "array",
        },
        {"type": "null"},
    ],
    "title": "SliderData",
}
_BUTTONS = ("download", "fullscreen")
# Pillow's modes, as Gradio's image_mode lists them (None keeps each file's own).
_IMAGE_MODES = ("1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F")


class ImageSlider(Changeable, Selectable, Streamable, Uploadable, Component):
    """Two images compared with a slider; `fn` gets a pair of arrays, PIL images or paths."""

    block_type = "imageslider"
    python_type = "tuple[filepath | None, filepath | None] | None"
    example: ClassVar[Any] = [example_file(EXAMPLES_URL + "bus.png")] * 2

    def __init__(
        self,
        value: Any = None,
        *,
        format: str = "webp",
        height: int | str | None = None,
        width: int | str | None = None,
        image_mode: str | None = "RGB",
        type: str = "numpy",
        buttons: list[str] | None = None,
        slider_position: float = 50,
        max_height: int = 500,
        **kwargs: Any,
    ):
        check_image_type("ImageSlider", type)
        for button in buttons or []:
            if button not in _BUTTONS:
                raise ValueError(f"ImageSlider buttons are among {list(_BUTTONS)}, got {button!r}")
        if image_mode is not None and image_mode not in _IMAGE_MODES:
            raise ValueError(f"ImageSlider image_mode is one of {_IMAGE_MODES} or None")
        if not 0 <= slider_position <= 100:
            raise ValueError(f"ImageSlider slider_position is 0-100, got {slider_position}")
        self.format = format.lower().lstrip(".")
        self.height, self.width, self.max_height = height, width, max_height
        self.image_mode = image_mode
        self.type = type
        self.buttons = list(_BUTTONS) if buttons is None else list(buttons)
        self.slider_position = slider_position
        if value is not None and not callable(value):
            check_initial_files(self, self._pair(value))
        super().__init__(value, **kwargs)

    @staticmethod
    def _pair(value: Any) -> tuple[Any, Any]:
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise Error(
                f"ImageSlider takes a pair of images (before, after), got {type(value).__name__}"
            )
        return value[0], value[1]

    def preprocess(self, payload: Any) -> tuple[Any, Any] | None:
        if payload is None:
            return None
        pair = self._pair(payload)
        paths = [input_path(self, item) for item in pair]
        return tuple(  # type: ignore[return-value]
            None if path is None else read_image(path, self.type, self.image_mode) for path in paths
        )

    def postprocess(self, value: Any) -> list[dict[str, Any] | None] | None:
        if value is None:
            return None
        return [save_image(self, item, self.format) for item in self._pair(value)]

    def api_info(self) -> dict[str, Any]:
        return SLIDER_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "format": self.format,
            "image_mode": self.image_mode,
            "type": self.type,
            "buttons": self.buttons,
            "slider_position": self.slider_position,
            "max_height": self.max_height,
        }
        for key in ("height", "width"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props
