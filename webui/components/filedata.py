"""FileData: the wire shape of a file, its JSON schemas, and the checks every file input passes.

Components that carry files (Image, Audio, File, and any other holding FileData) use these
helpers, so inputs always go through the app's path policy and outputs through its cache.
"""

from __future__ import annotations

import mimetypes
import os
import sys
from pathlib import Path
from typing import Any

from webui.components.base import Component
from webui.errors import Error
from webui.events import _listener
from webui.files import FILE_DATA_TYPE, FileAccessError, FileStore, file_url

EXAMPLES_URL = "https://raw.githubusercontent.com/gradio-app/gradio/main/test/test_files/"
_NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
FILE_DATA_META_SCHEMA: dict[str, Any] = {
    "properties": {"_type": {"const": FILE_DATA_TYPE, "title": "Type", "type": "string"}},
    "required": ["_type"],
    "title": "FileDataMeta",
    "type": "object",
}
FILE_DATA_PROPERTIES: dict[str, Any] = {
    "path": {"title": "Path", "type": "string"},
    "url": {**_NULLABLE_STRING, "title": "Url"},
    "size": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Size"},
    "orig_name": {**_NULLABLE_STRING, "title": "Orig Name"},
    "mime_type": {**_NULLABLE_STRING, "title": "Mime Type"},
    "is_stream": {"default": False, "title": "Is Stream", "type": "boolean"},
    "meta": {"$ref": "#/$defs/FileDataMeta"},
}
FILE_DATA_SCHEMA: dict[str, Any] = {
    "$defs": {"FileDataMeta": FILE_DATA_META_SCHEMA},
    "properties": FILE_DATA_PROPERTIES,
    "required": ["path"],
    "title": "FileData",
    "type": "object",
}
IMAGE_DATA_SCHEMA: dict[str, Any] = {
    "properties": {
        "path": {**_NULLABLE_STRING, "description": "Path to a local file", "title": "Path"},
        "url": {
            **_NULLABLE_STRING,
            "description": "Publicly available url or base64 encoded image",
            "title": "Url",
        },
        "size": {**FILE_DATA_PROPERTIES["size"], "description": "Size of image in bytes"},
        "orig_name": {**_NULLABLE_STRING, "description": "Original filename", "title": "Orig Name"},
        "mime_type": {
            **_NULLABLE_STRING,
            "description": "mime type of image",
            "title": "Mime Type",
        },
        "is_stream": {
            **FILE_DATA_PROPERTIES["is_stream"],
            "description": "Can always be set to False",
        },
        "meta": {
            "additionalProperties": True,
            "default": {"_type": FILE_DATA_TYPE},
            "title": "Meta",
            "type": "object",
        },
    },
    "title": "ImageData",
    "type": "object",
    "additional_description": "A local filepath or publicly available URL.",
}
LIST_FILES_SCHEMA: dict[str, Any] = {
    "$defs": {
        "FileData": {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"},
        "FileDataMeta": FILE_DATA_META_SCHEMA,
    },
    "items": {"$ref": "#/$defs/FileData"},
    "title": "ListFiles",
    "type": "array",
}


def example_file(url: str) -> dict[str, Any]:
    """An example input in Gradio's shape: a FileData naming a public URL."""
    name = url.rsplit("/", 1)[-1]
    return {"path": url, "meta": {"_type": FILE_DATA_TYPE}, "orig_name": name, "url": url}


class Uploadable:
    upload = _listener("upload")
    clear = _listener("clear")


def require(module: str, package: str, needed_for: str) -> Any:
    """Import `module` or fail with the pip command that fixes it."""
    try:
        __import__(module)
    except ImportError:
        raise ImportError(f"{needed_for} needs {package}: pip install {package}") from None
    return sys.modules[module]


def loaded_type(module: str, name: str) -> type | None:
    """A class from a module only if the app already imported it: values of that class can
    only exist then, so checking never imports numpy or Pillow."""
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def store_of(component: Component) -> FileStore:
    if component.root is None:
        raise RuntimeError(f"{type(component).__name__} must be rendered in a Blocks to use files")
    return component.root.files


def input_path(component: Component, payload: Any) -> Path | None:
    """The checked server path of an input FileData; refusals name no path.

    Only dicts carrying `meta: {"_type": "gradio.FileData"}` count as files: anything else is
    refused here rather than read, with or without a `path` key.
    """
    if payload is None:
        return None
    name = type(component).__name__
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict) or meta.get("_type") != FILE_DATA_TYPE:
        raise FileAccessError(
            400,
            f"{name} takes a FileData dict with meta {{'_type': '{FILE_DATA_TYPE}'}}, such as "
            "gradio_client.handle_file(path) sends",
        )
    return store_of(component).check_file(payload.get("path"))


def file_data(path: Path, orig_name: str | None = None) -> dict[str, Any]:
    """The FileData payload of a file in the upload or cache dir."""
    return {
        "path": str(path),
        "url": file_url(path),
        "size": path.stat().st_size,
        "orig_name": orig_name or path.name,
        "mime_type": mimetypes.guess_type(path.name)[0],
        "is_stream": False,
        "meta": {"_type": FILE_DATA_TYPE},
    }


def output_file_data(component: Component, value: Any) -> dict[str, Any] | None:
    """FileData for a path (or FileData dict) a function returned, copied into the cache."""
    if value is None:
        return None
    orig_name = None
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        orig_name, value = value.get("orig_name"), value["path"]
    if not isinstance(value, str | os.PathLike):
        raise Error(
            f"{type(component).__name__} cannot show a {type(value).__name__}; return a file path"
        )
    return file_data(store_of(component).cache_file(value), orig_name)


def check_position(type_name: str, seconds: Any) -> float:
    """Gradio's playback_position: seconds from the start, a number >= 0."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError(f"{type_name} playback_position is seconds >= 0, got {seconds!r}")
    return float(seconds)


def check_initial_files(component: Component, value: Any) -> None:
    """Fail when the app is built, not at page load, if a starting value names no file."""
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, str | os.PathLike) and not os.path.isfile(item):
            raise ValueError(
                f"{type(component).__name__} value {os.fspath(item)!r} is not a file "
                "(URLs are not fetched)"
            )
