"""gr.WebcamOptions: how the page opens the webcam for Image and ImageEditor."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class WebcamOptions:
    """Gradio's webcam settings (`webcam_options=`): the page mirrors the preview and the
    capture when `mirror`, and asks the browser for the camera with `constraints`
    (getUserMedia's; `{"video": true}` when None)."""

    mirror: bool = True
    constraints: dict[str, Any] | None = None

    @classmethod
    def of(cls, options: WebcamOptions | None, owner: str) -> WebcamOptions:
        """`webcam_options=` as Gradio takes it: an instance or None (the defaults)."""
        if options is not None and not isinstance(options, cls):
            raise TypeError(f"{owner} webcam_options is a gr.WebcamOptions, got {options!r}")
        return options or cls()
