"""MultimodalTextbox: text with attached files, as Gradio's gr.MultimodalTextbox.

The wire value is MultimodalData {"text", "files": [FileData]}; `fn` gets {"text", "files":
[paths]}, each file through the path policy and `file_types`.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.file import File
from webui.components.filedata import (
    EXAMPLES_URL,
    FILE_DATA_META_SCHEMA,
    FILE_DATA_SCHEMA,
    example_file,
    input_path,
    output_file_data,
)
from webui.errors import Error
from webui.events import Changeable, Focusable, Selectable, Submittable, _listener

MULTIMODAL_DATA_SCHEMA: dict[str, Any] = {
    "$defs": {
        "FileData": {k: v for k, v in FILE_DATA_SCHEMA.items() if k != "$defs"},
        "FileDataMeta": FILE_DATA_META_SCHEMA,
    },
    "properties": {
        "text": {"title": "Text", "type": "string"},
        "files": {"items": {"$ref": "#/$defs/FileData"}, "title": "Files", "type": "array"},
    },
    "required": ["text"],
    "title": "MultimodalData",
    "type": "object",
}
_SOURCES = ("upload", "microphone")


class MultimodalTextbox(Changeable, Submittable, Focusable, Selectable, Component):
    block_type = "multimodaltextbox"
    python_type = "dict(text: str, files: list[filepath])"
    example: ClassVar[Any] = {
        "text": "Describe this image",
        "files": [example_file(EXAMPLES_URL + "bus.png")],
    }
    stop = _listener("stop")

    def __init__(
        self,
        value: str | dict[str, Any] | None = None,
        *,
        sources: list[str] | str | None = None,
        file_types: list[str] | None = None,
        file_count: str = "single",
        lines: int = 1,
        max_lines: int = 20,
        placeholder: str | None = None,
        autofocus: bool = False,
        submit_btn: str | bool | None = True,
        stop_btn: str | bool | None = False,
        max_plain_text_length: int = 1000,
        rtl: bool = False,
        info: str | None = None,
        **kwargs: Any,
    ):
        sources = [sources] if isinstance(sources, str) else list(sources or ["upload"])
        for source in sources:
            if source not in _SOURCES:
                raise ValueError(f"MultimodalTextbox sources are among {_SOURCES}: {source!r}")
        # File checks the counts and types and filters by them, as Gradio's is_valid_file.
        self._files = File(file_count=file_count, file_types=file_types, render=False)
        self.sources, self.file_types, self.file_count = sources, file_types, file_count
        self.lines, self.max_lines, self.placeholder = lines, max_lines, placeholder
        self.autofocus, self.submit_btn, self.stop_btn = autofocus, submit_btn, stop_btn
        self.max_plain_text_length, self.rtl, self.info = max_plain_text_length, rtl, info
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> dict[str, Any] | None:
        if payload is None:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
            raise Error("MultimodalTextbox takes {'text': str, 'files': [FileData]}")
        paths = []
        for item in payload.get("files") or []:
            path = input_path(self, item)
            if path is not None and self.file_types and not self._files._accepts(path):
                raise Error(
                    f"Invalid file type: {mimetypes.guess_type(path.name)[0]}. Please upload "
                    f"a file that is one of these formats: {self.file_types}"
                )
            paths.append(str(path))
        return {"text": payload.get("text", ""), "files": paths}

    def postprocess(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {"text": "", "files": []}
        if isinstance(value, str):
            return {"text": value, "files": []}
        if not isinstance(value, dict):
            raise Error(
                "MultimodalTextbox expects a string or a dictionary with optional keys 'text' "
                f"and 'files'. Received {type(value).__name__}"
            )
        text = value.get("text", "")
        if not isinstance(text, str):
            raise Error(f"Expected 'text' to be a string, but got {type(text).__name__}")
        files = value.get("files")
        if not isinstance(files, list):
            files = []
        return {"text": text, "files": [self._file(item) for item in files]}

    def _file(self, item: Any) -> dict[str, Any] | None:
        if isinstance(item, str | os.PathLike | dict):
            return output_file_data(self, item)
        raise Error(f"MultimodalTextbox files are paths, not {type(item).__name__}")

    def props(self) -> dict[str, Any]:
        """An empty value is sent as Gradio sends it (its postprocess of None), so the API info
        shows Gradio's default."""
        props = super().props()
        if self.value is None:
            props["value"] = self.postprocess(None)
        return props

    def api_info(self) -> dict[str, Any]:
        return MULTIMODAL_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "file_types": self.file_types,
            "file_count": self.file_count,
            "lines": self.lines,
            "max_lines": self.max_lines,
            "placeholder": self.placeholder,
            "autofocus": self.autofocus,
            "submit_btn": self.submit_btn,
            "stop_btn": self.stop_btn,
            "max_plain_text_length": self.max_plain_text_length,
            "rtl": self.rtl,
            "info": self.info,
        }
