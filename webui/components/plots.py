"""Plots: Plot shows a matplotlib figure as a PNG; LinePlot/ScatterPlot/BarPlot send the data
itself (columns, rows and a type per column) for the browser to draw."""

from __future__ import annotations

import base64
import datetime
import io
import json
import numbers
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.data import is_dataframe, json_cell
from webui.errors import Error
from webui.events import Changeable, DoubleClickable, Selectable

_PLOT_SCHEMA: dict[str, Any] = {
    "properties": {
        "type": {
            "enum": ["altair", "bokeh", "plotly", "matplotlib"],
            "title": "Type",
            "type": "string",
        },
        "plot": {"title": "Plot", "type": "string"},
    },
    "required": ["type", "plot"],
    "title": "PlotData",
    "type": "object",
}


class Plot(Changeable, Component):
    """A static plot: a matplotlib figure becomes `{"type": "matplotlib", "plot": <PNG data URL>}`.

    Any object with matplotlib's `savefig(file, format="png")` works, so matplotlib itself is
    needed only by the app that draws the figure.
    """

    block_type = "plot"
    python_type = "dict(type: Literal['altair', 'bokeh', 'plotly', 'matplotlib'], plot: str)"

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, dict) and {"type", "plot"} <= value.keys():
            return value
        savefig = getattr(value, "savefig", None)
        if not callable(savefig):
            raise Error(
                f"{self.label or 'Plot'} shows matplotlib figures, got {type(value).__name__}; "
                "for data use LinePlot, ScatterPlot or BarPlot"
            )
        buffer = io.BytesIO()
        savefig(buffer, format="png", bbox_inches="tight")
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        return {"type": "matplotlib", "plot": f"data:image/png;base64,{encoded}"}

    def api_info(self) -> dict[str, Any]:
        return dict(_PLOT_SCHEMA)

    def own_props(self) -> dict[str, Any]:
        return {"format": "png"}


def _column_kind(values: list[Any]) -> str:
    """Vega-Lite's type of a column: quantitative, temporal or nominal."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return "quantitative"
    if present and all(isinstance(v, datetime.date) for v in present):
        return "temporal"
    return "nominal"


def _frame_kind(dtype: Any) -> str:
    import pandas

    if pandas.api.types.is_bool_dtype(dtype):
        return "nominal"
    if pandas.api.types.is_numeric_dtype(dtype):
        return "quantitative"
    if pandas.api.types.is_datetime64_any_dtype(dtype):
        return "temporal"
    return "nominal"


class _NativePlot(Changeable, Selectable, DoubleClickable, Component):
    """Data for the browser to chart: `{"columns", "data", "datatypes", "mark"}`."""

    block_type = "nativeplot"
    python_type = "Dict[Any, Any]"
    mark: ClassVar[str] = "line"

    def __init__(
        self,
        value: Any = None,
        x: str | None = None,
        y: str | None = None,
        *,
        color: str | None = None,
        title: str | None = None,
        x_title: str | None = None,
        y_title: str | None = None,
        x_lim: list[float | None] | None = None,
        y_lim: list[float | None] | None = None,
        height: int | None = None,
        caption: str | None = None,
        **kwargs: Any,
    ):
        self.x, self.y, self.color = x, y, color
        self.title, self.x_title, self.y_title = title, x_title, y_title
        self.x_lim, self.y_lim = x_lim, y_lim
        self.height = height
        self.caption = caption
        if kwargs.get("label") is None and kwargs.get("show_label") is None:
            kwargs["show_label"] = False
        super().__init__(value, **kwargs)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if is_dataframe(value):
            split = json.loads(value.to_json(orient="split", date_format="iso", index=False))
            columns = [str(c) for c in value.columns]
            rows = [[json_cell(c) for c in row] for row in split["data"]]
            kinds = {str(c): _frame_kind(value[c].dtype) for c in value.columns}
        elif isinstance(value, dict) and {"columns", "data"} <= value.keys():
            return value  # already plot data
        elif isinstance(value, dict):
            series = [list(c.tolist() if hasattr(c, "tolist") else c) for c in value.values()]
            if len({len(s) for s in series}) > 1:
                raise Error(f"{type(self).__name__} columns differ in length")
            columns = [str(k) for k in value]
            kinds = {name: _column_kind(s) for name, s in zip(columns, series, strict=True)}
            rows = [[json_cell(c) for c in row] for row in zip(*series, strict=True)]
        else:
            raise Error(
                f"{type(self).__name__} takes a pandas DataFrame or a dict of columns, got "
                f"{type(value).__name__}"
            )
        for axis, name in (("x", self.x), ("y", self.y), ("color", self.color)):
            if name is not None and name not in columns:
                raise Error(f"{type(self).__name__} {axis}={name!r} is not a column: {columns}")
        return {"columns": columns, "data": rows, "datatypes": kinds, "mark": self.mark}

    def api_info(self) -> dict[str, Any]:
        return {"type": {}, "description": "any valid json"}

    def own_props(self) -> dict[str, Any]:
        props = {"x": self.x, "y": self.y, "color": self.color}
        for key in ("title", "x_title", "y_title", "x_lim", "y_lim", "height", "caption"):
            props[key] = getattr(self, key)
        return props


class LinePlot(_NativePlot):
    mark = "line"


class ScatterPlot(_NativePlot):
    mark = "point"


class BarPlot(_NativePlot):
    mark = "bar"
