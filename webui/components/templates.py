"""Gradio's templates: components with other defaults (`gr.TextArea` is a Textbox of 7 lines).

Each is a subclass whose constructor takes its parent's arguments with the template's presets as
defaults; it keeps its parent's block type, so the page and gradio_client treat it as the parent.
"""

from __future__ import annotations

import inspect
from typing import Any

from webui.components.base import Component
from webui.components.data import Dataframe
from webui.components.file import File
from webui.components.media import Audio
from webui.components.text import Textbox


def _template(name: str, parent: type[Component], presets: dict[str, Any], doc: str) -> type:
    def __init__(self: Component, *args: Any, **kwargs: Any) -> None:
        parent.__init__(self, *args, **{**presets, **kwargs})

    signature = inspect.signature(parent.__init__)
    __init__.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(default=presets[p.name]) if p.name in presets else p
            for p in signature.parameters.values()
        ]
    )
    namespace = {"__init__": __init__, "__doc__": doc, "__module__": __name__}
    namespace["is_template"] = True  # Gradio's marker: the API info names it as its parent
    return type(name, (parent,), namespace)


TextArea = _template("TextArea", Textbox, {"lines": 7}, "A Textbox of 7 lines.")
Files = _template("Files", File, {"file_count": "multiple"}, "A File taking several files.")
Microphone = _template("Microphone", Audio, {"sources": ["microphone"]}, "Audio from the mic.")
Numpy = _template("Numpy", Dataframe, {"type": "numpy"}, "A Dataframe as a numpy array.")
Matrix = _template("Matrix", Dataframe, {"type": "array"}, "A Dataframe as a list of rows.")
List = _template("List", Dataframe, {"type": "array", "col_count": 1}, "A one-column Dataframe.")
