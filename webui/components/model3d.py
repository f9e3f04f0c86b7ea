"""Model3D: a 3D model file (.obj, .glb, .gltf, .stl, .splat, .ply) passed through, as Gradio's
gr.Model3D. The browser side offers the file for download; it has no 3D viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    FILE_DATA_SCHEMA,
    Uploadable,
    check_initial_files,
    example_file,
    input_path,
    output_file_data,
)
from webui.events import Changeable


class Model3D(Changeable, Uploadable, Component):
    block_type = "model3d"
    python_type = "filepath"
    example: ClassVar[Any] = example_file(
        "https://raw.githubusercontent.com/gradio-app/gradio/main/gradio/media_assets/models3d/Fox.gltf"
    )

    def __init__(
        self,
        value: str | Path | None = None,
        *,
        display_mode: str | None = None,
        clear_color: tuple[float, float, float, float] | None = None,
        camera_position: tuple[Any, Any, Any] = (None, None, None),
        zoom_speed: float = 1,
        pan_speed: float = 1,
        height: int | str | None = None,
        **kwargs: Any,
    ):
        self.display_mode = display_mode
        self.clear_color = list(clear_color or (0, 0, 0, 0))
        self.camera_position = list(camera_position)
        self.zoom_speed, self.pan_speed, self.height = zoom_speed, pan_speed, height
        check_initial_files(self, value)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        path = input_path(self, payload)
        return None if path is None else str(path)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        return output_file_data(self, value)

    def api_info(self) -> dict[str, Any]:
        return FILE_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {
            "display_mode": self.display_mode,
            "clear_color": self.clear_color,
            "camera_position": self.camera_position,
            "zoom_speed": self.zoom_speed,
            "pan_speed": self.pan_speed,
            "height": self.height,
        }
