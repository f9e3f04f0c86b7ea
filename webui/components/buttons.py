"""File buttons: UploadButton (a button that uploads files) and DownloadButton (a button that
downloads one), as Gradio's. Uploads go through webui's upload route and path policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.file import File
from webui.components.filedata import (
    FILE_DATA_SCHEMA,
    check_initial_files,
    example_file,
    input_path,
    output_file_data,
)
from webui.events import Changeable, Clickable

SAMPLE_PDF = "https://github.com/gradio-app/gradio/raw/main/test/test_files/sample_file.pdf"


class UploadButton(Clickable, File):
    """A button whose value is the file(s) it uploaded; `fn` gets paths or bytes (`type`)."""

    block_type = "uploadbutton"

    def __init__(
        self,
        label: str = "Upload a File",
        value: Any = None,
        *,
        variant: str = "secondary",
        size: str = "lg",
        icon: str | None = None,
        file_count: str = "single",
        file_types: list[str] | None = None,
        type: str = "filepath",
        interactive: bool = True,
        **kwargs: Any,
    ):
        self.variant, self.size, self.icon = variant, size, icon
        kwargs.pop("show_label", None)
        super().__init__(
            value,
            label=label,
            file_count=file_count,
            file_types=file_types,
            type=type,
            interactive=interactive,
            **kwargs,
        )

    def preprocess(self, payload: Any) -> Any:
        # Gradio's UploadButton also takes a one-item list for a single file.
        if not self.multiple and isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        return super().preprocess(payload)

    def own_props(self) -> dict[str, Any]:
        props = super().own_props()
        props.update(variant=self.variant, size=self.size, icon=self.icon)
        return props


class DownloadButton(Clickable, Changeable, Component):
    """A button that downloads its value, a file; as an input `fn` gets the file's path."""

    block_type = "downloadbutton"
    python_type = "filepath"
    example: ClassVar[Any] = example_file(SAMPLE_PDF)

    def __init__(
        self,
        label: str = "Download",
        value: str | Path | None = None,
        *,
        variant: str = "secondary",
        size: str = "lg",
        icon: str | None = None,
        interactive: bool = True,
        **kwargs: Any,
    ):
        self.variant, self.size, self.icon = variant, size, icon
        check_initial_files(self, value)
        kwargs.pop("show_label", None)
        super().__init__(value, label=label, interactive=interactive, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        path = input_path(self, payload)
        return None if path is None else str(path)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        return output_file_data(self, value)

    def api_info(self) -> dict[str, Any]:
        return FILE_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {"variant": self.variant, "size": self.size, "icon": self.icon}
