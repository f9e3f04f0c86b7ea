"""Dataset: a clickable table (or gallery) of samples; `gr.Examples` shows examples with it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from webui.components.base import Component
from webui.components.shortcuts import component_instance
from webui.errors import Error
from webui.events import Clickable, _listener
from webui.files import FileAccessError

DATASET_TYPES = ("values", "index", "tuple")


class Dataset(Clickable, Component):
    """Samples shown by the components that hold them; a click sends the sample's index.

    `fn` receives the sample's values (`type="values"`), its index (`"index"`) or both as
    `(index, values)` (`"tuple"`). Each sample value is shown as its component would show it
    (files go through the app's path policy and cache when the page asks for the config).
    """

    block_type = "dataset"
    python_type = "int"
    example: ClassVar[Any] = 0
    select = _listener("select")

    def __init__(
        self,
        *,
        label: str | None = None,
        show_label: bool = True,
        components: Sequence[Component | str] | None = None,
        component_props: list[dict[str, Any]] | None = None,
        samples: list[list[Any]] | None = None,
        headers: list[str] | None = None,
        type: Literal["values", "index", "tuple"] = "values",
        layout: Literal["gallery", "table"] | None = None,
        samples_per_page: int = 10,
        sample_labels: list[str] | None = None,
        **kwargs: Any,
    ):
        if type not in DATASET_TYPES:
            raise ValueError(f"Dataset type must be one of {DATASET_TYPES}, got {type!r}")
        if layout not in (None, "gallery", "table"):
            raise ValueError(f"Dataset layout must be 'gallery', 'table' or None, got {layout!r}")
        if not isinstance(samples_per_page, int) or samples_per_page < 1:
            raise ValueError(f"samples_per_page must be a positive int, got {samples_per_page!r}")
        self.components = [component_instance(c) for c in components or []]
        self.component_props = component_props
        self.raw_samples = [[]] if samples is None else [list(s) for s in samples]
        if sample_labels is not None and len(sample_labels) != len(self.raw_samples):
            raise ValueError(
                f"sample_labels has {len(sample_labels)} labels for {len(self.raw_samples)} samples"
            )
        if headers is None and any(c.label is not None for c in self.components):
            headers = [c.label or "" for c in self.components]
        self.headers = headers or []
        self.type = type
        self.sample_layout = layout  # `layout` is Block's method
        self.samples_per_page = samples_per_page
        self.sample_labels = sample_labels
        super().__init__(None, label=label, show_label=show_label, **kwargs)

    def shown_samples(self) -> list[list[Any]]:
        """Each sample as payloads of its components, as they would show the values.

        A file is always refused when the path policy refuses it. A value its component cannot
        take is shown as text, as Gradio shows it; using that sample fails when clicked.
        """
        shown = []
        for sample in self.raw_samples:
            row = []
            for component, value in zip(self.components, sample, strict=False):
                if component.root is None and self.root is not None:
                    component.root = self.root  # file components need the app's file store
                try:
                    row.append(component.postprocess(value))
                except FileAccessError:
                    raise
                except (Error, TypeError, ValueError):
                    row.append(value if _plain(value) else str(value))
            shown.append(row)
        return shown

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        if isinstance(payload, bool) or not isinstance(payload, int):
            raise Error(f"a Dataset takes the index of a sample, got {payload!r}")
        if not 0 <= payload < len(self.raw_samples):
            raise Error(f"sample {payload} is not in 0..{len(self.raw_samples) - 1}")
        if self.type == "index":
            return payload
        if self.type == "values":
            return self.raw_samples[payload]
        return payload, self.raw_samples[payload]

    def postprocess(self, value: Any) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, list) and value in self.raw_samples:
            return self.raw_samples.index(value)
        return None

    def api_info(self) -> dict[str, Any]:
        return {"type": "integer", "description": "index of selected example"}

    def own_props(self) -> dict[str, Any]:
        return {
            "components": [{"name": c.block_type} for c in self.components],  # Gradio's shape
            "component_props": self.component_props
            or [{"label": c.label} for c in self.components],
            "component_ids": [c._id for c in self.components],
            "samples": self.shown_samples(),
            "headers": self.headers,
            "type": self.type,
            "layout": self.sample_layout,
            "samples_per_page": self.samples_per_page,
            "sample_labels": self.sample_labels,
        }


def _plain(value: Any) -> bool:
    """Whether JSON carries `value` as it is."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
