"""Gallery: images and videos with captions, as Gradio's gr.Gallery.

The wire value is GalleryData: a list of {"image": ImageData, "caption"} or
{"video": FileData, "caption"}. Inputs pass the path policy; `fn` gets (media, caption) pairs,
images as `type` asks and videos as paths. Returned items (paths, arrays, PIL images, URLs, or
(item, caption) pairs) are saved into the cache; a path whose MIME type is video/* is a video.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from webui.components.base import Component
from webui.components.file import File
from webui.components.filedata import (
    EXAMPLES_URL,
    FILE_DATA_META_SCHEMA,
    FILE_DATA_SCHEMA,
    IMAGE_DATA_SCHEMA,
    Uploadable,
    example_file,
    input_path,
)
from webui.components.image_files import check_image_type, read_image, save_image
from webui.errors import Error
from webui.events import Changeable, Selectable, _listener
from webui.files import FILE_DATA_TYPE

_CAPTION = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Caption"}
GALLERY_DATA_SCHEMA: dict[str, Any] = {
    "$defs": {
        "FileData": {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"},
        "FileDataMeta": FILE_DATA_META_SCHEMA,
        "GalleryImage": {
            "properties": {"image": {"$ref": "#/$defs/ImageData"}, "caption": _CAPTION},
            "required": ["image"],
            "title": "GalleryImage",
            "type": "object",
        },
        "GalleryVideo": {
            "properties": {"video": {"$ref": "#/$defs/FileData"}, "caption": _CAPTION},
            "required": ["video"],
            "title": "GalleryVideo",
            "type": "object",
        },
        "ImageData": {k: v for k, v in IMAGE_DATA_SCHEMA.items() if k != "additional_description"},
    },
    "items": {"anyOf": [{"$ref": "#/$defs/GalleryImage"}, {"$ref": "#/$defs/GalleryVideo"}]},
    "title": "GalleryData",
    "type": "array",
}


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class Gallery(Changeable, Selectable, Uploadable, Component):
    block_type = "gallery"
    python_type = (
        "list[dict(image: filepath, caption: str | None) | "
        "dict(video: filepath, caption: str | None)]"
    )
    example: ClassVar[Any] = [{"image": example_file(EXAMPLES_URL + "bus.png")}]

    delete = _listener("delete")
    preview_close = _listener("preview_close")
    preview_open = _listener("preview_open")

    def __init__(
        self,
        value: list[Any] | None = None,
        *,
        format: str = "webp",
        file_types: list[str] | None = None,
        type: str = "filepath",
        columns: int | None = 2,
        rows: int | None = None,
        height: int | float | str | None = None,
        allow_preview: bool = True,
        preview: bool | None = None,
        selected_index: int | None = None,
        object_fit: str | None = None,
        buttons: list[str] | None = None,
        interactive: bool | None = None,
        **kwargs: Any,
    ):
        check_image_type("Gallery", type)
        self.format = format.lower().lstrip(".")
        self.file_types = file_types
        self._file_filter = File(file_types=file_types, render=False) if file_types else None
        self.type = type
        self.columns, self.rows, self.height = columns, rows, height
        self.allow_preview, self.preview = allow_preview, preview
        self.selected_index, self.object_fit = selected_index, object_fit
        self.buttons = buttons
        if isinstance(value, str):
            raise ValueError("Gallery value must be a list of images or videos, not a str")
        super().__init__(value, interactive=interactive, **kwargs)

    def preprocess(self, payload: Any) -> list[tuple[Any, str | None]] | None:
        if not payload:
            return None
        if not isinstance(payload, list):
            raise Error("Gallery takes a list of {'image': FileData} or {'video': FileData}")
        items = []
        for item in payload:
            if not isinstance(item, dict) or not ({"image", "video"} & item.keys()):
                raise Error("each Gallery item is {'image': FileData} or {'video': FileData}")
            video = "video" in item and item["video"] is not None
            path = input_path(self, item["video"] if video else item.get("image"))
            if path is None:
                raise Error("a Gallery item has no file")
            if self._file_filter is not None and not self._file_filter._accepts(path):
                raise Error(f"Invalid file type {path.suffix}; Gallery accepts {self.file_types}")
            media = str(path) if video else read_image(path, self.type)
            items.append((media, item.get("caption")))
        return items

    def postprocess(self, value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise Error(
                "Gallery shows a list of images or videos, or of (media, caption) pairs; "
                f"got {type(value).__name__}"
            )
        return [self._item(entry) for entry in value]

    def _item(self, entry: Any) -> dict[str, Any]:
        caption = None
        if isinstance(entry, tuple | list):
            if len(entry) != 2:
                raise Error("a Gallery item pair is (media, caption)")
            entry, caption = entry
        if isinstance(entry, str) and is_url(entry):
            name = Path(urlparse(entry).path).name
            mime = mimetypes.guess_type(name)[0]
            data = {
                "path": entry,
                "url": entry,
                "size": None,
                "orig_name": name,
                "mime_type": mime,
                "is_stream": False,
                "meta": {"_type": FILE_DATA_TYPE},
            }
        else:
            data = save_image(self, entry, self.format)
        if data is None:
            raise Error("a Gallery item is None; return only images, videos or pairs")
        kind = "video" if (data.get("mime_type") or "").startswith("video/") else "image"
        return {kind: data, "caption": None if caption is None else str(caption)}

    def props(self) -> dict[str, Any]:
        """An empty value is sent as Gradio sends it (its postprocess of None), so the API info
        shows Gradio's default."""
        props = super().props()
        if self.value is None:
            props["value"] = self.postprocess(None)
        return props

    def api_info(self) -> dict[str, Any]:
        return GALLERY_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "format": self.format,
            "file_types": self.file_types,
            "type": self.type,
            "columns": self.columns,
            "rows": self.rows,
            "height": self.height,
            "allow_preview": self.allow_preview,
            "preview": self.preview,
            "selected_index": self.selected_index,
            "object_fit": self.object_fit,
            "buttons": self.buttons or ["download", "share", "fullscreen"],
        }
        return props
