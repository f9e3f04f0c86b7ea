"""File: any file or several, handed to `fn` as paths (NamedString) or bytes.

Inputs pass the app's path policy (`webui.files.FileStore.check`) before a function sees
them; returned paths are copied into the app's cache dir and leave as FileData.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from webui.components.base import Component
from webui.components.filedata import (
    FILE_DATA_SCHEMA,
    LIST_FILES_SCHEMA,
    Uploadable,
    check_initial_files,
    example_file,
    input_path,
    output_file_data,
)
from webui.errors import Error
from webui.events import Changeable, Selectable, _listener


class NamedString(str):
    """A file path that also answers `.name` with itself, as Gradio's File inputs do: apps
    written for Gradio 3's tempfile objects (`file.name`) keep working."""

    @property
    def name(self) -> str:
        return str(self)


class File(Changeable, Selectable, Uploadable, Component):
    """Any file, or several (`file_count`): `fn` gets paths (`type="filepath"`) or bytes.

    `file_types` limits inputs by extension (".pdf") or category ("image", "audio", "video",
    "text"); returned paths are copied into the cache dir and sent as FileData.
    """

    block_type = "file"
    # The page fires delete (a file's remove button, with gr.DeletedFileData) and download
    # (a click on a file's link), as Gradio's File does.
    delete = _listener("delete")
    download = _listener("download")
    _COUNTS = ("single", "multiple", "directory")
    _TYPES = ("filepath", "binary")

    def __init__(
        self,
        value: Any = None,
        *,
        file_count: str = "single",
        file_types: list[str] | None = None,
        type: str = "filepath",
        height: int | str | None = None,
        allow_reordering: bool = False,
        buttons: list[str] | None = None,
        **kwargs: Any,
    ):
        if file_count not in self._COUNTS:
            raise ValueError(f"File file_count must be one of {self._COUNTS}, got {file_count!r}")
        if type not in self._TYPES:
            raise ValueError(f"File type must be one of {self._TYPES}, got {type!r}")
        if file_types is not None and (
            not isinstance(file_types, list) or not all(isinstance(k, str) for k in file_types)
        ):
            raise ValueError(f"File file_types must be a list of strings, got {file_types!r}")
        # As Gradio, any other string is kept: a word is a MIME category ("image" matches
        # "image/png"), so an unknown one ("invalid file_type") matches no file.
        self.file_count = file_count
        self.file_types = file_types
        self.type = type
        self.height = height
        self.allow_reordering = allow_reordering
        self.buttons = buttons
        self.python_type = "filepath" if file_count == "single" else "list[filepath]"
        check_initial_files(self, value)
        super().__init__(value, **kwargs)

    @property
    def multiple(self) -> bool:
        return self.file_count != "single"

    def _accepts(self, path: Path) -> bool:
        if not self.file_types:
            return True
        name = path.name.lower()
        mime = mimetypes.guess_type(path.name)[0] or ""
        return any(
            kind == "file"
            # by ending, so compound extensions (".nii.gz") work; a name that is only the
            # extension (".pdf") is not a PDF
            or (kind.startswith(".") and len(name) > len(kind) and name.endswith(kind.lower()))
            or (not kind.startswith(".") and mime.startswith(kind + "/"))
            for kind in self.file_types
        )

    def _one(self, payload: Any) -> Any:
        path = input_path(self, payload)
        if path is None:
            return None
        if not self._accepts(path):
            raise Error(
                f"Invalid file type {path.suffix or '(none)'}; File accepts {self.file_types}"
            )
        return NamedString(path) if self.type == "filepath" else path.read_bytes()

    def preprocess(self, payload: Any) -> Any:
        if payload is None or not self.multiple:
            return self._one(payload)
        if not isinstance(payload, list):
            raise Error(f"File(file_count={self.file_count!r}) takes a list of FileData")
        return [self._one(item) for item in payload]

    def postprocess(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [output_file_data(self, item) for item in value]
        return output_file_data(self, value)

    def api_info(self) -> dict[str, Any]:
        return LIST_FILES_SCHEMA if self.multiple else FILE_DATA_SCHEMA

    def example_payload(self) -> Any:
        example = example_file(
            "https://github.com/gradio-app/gradio/raw/main/test/test_files/sample_file.pdf"
        )
        return [example] if self.multiple else example

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "file_count": self.file_count,
            "type": self.type,
            "allow_reordering": self.allow_reordering,
            "buttons": self.buttons or [],
        }
        for key in ("file_types", "height"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props
