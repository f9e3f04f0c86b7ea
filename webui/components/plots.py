"""Plots: Plot shows a matplotlib, plotly, altair or bokeh figure; LinePlot/ScatterPlot/BarPlot
send the data itself (columns, rows and a type per column) for the browser to draw."""

from __future__ import annotations

import base64
import datetime
import importlib.metadata
import io
import json
import logging
import numbers
import re
import sys
import types
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.data import is_dataframe, json_cell
from webui.components.filedata import loaded_type, require
from webui.errors import Error
from webui.events import Changeable, DoubleClickable, Selectable

logger = logging.getLogger(__name__)

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
    """A static plot from matplotlib, plotly, altair or bokeh, in Gradio's PlotData.

    matplotlib figures (or `matplotlib.pyplot` itself) become an image data URL in `format`;
    plotly and altair figures their JSON (`to_json()`), bokeh ones `bokeh.embed.json_item`. The
    libraries are the app's: webui imports none of them. The page draws the image, and plotly
    and altair (Vega-Lite) figures with its own offline renderer (see plot.js).
    """

    block_type = "plot"
    python_type = "dict(type: Literal['altair', 'bokeh', 'plotly', 'matplotlib'], plot: str)"

    def __init__(self, value: Any = None, *, format: str = "webp", **kwargs: Any):
        if kwargs.get("buttons") is not None:
            raise ValueError("Plot(buttons=...) custom toolbar buttons are not shown by webui")
        kwargs.pop("buttons", None)
        self.format = format.lower().lstrip(".")
        super().__init__(value, **kwargs)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, dict) and {"type", "plot"} <= value.keys():
            return value
        library = _library_of(value)
        if library == "matplotlib":
            return {"type": "matplotlib", "plot": self._image(value)}
        if library == "bokeh":
            json_item = require("bokeh.embed", "bokeh", "a bokeh plot").json_item
            return {"type": "bokeh", "plot": json.dumps(json_item(value))}
        if library in ("plotly", "altair") and callable(getattr(value, "to_json", None)):
            return {"type": library, "plot": value.to_json()}
        raise Error(
            f"{self.label or 'Plot'} shows matplotlib, plotly, altair or bokeh figures, got "
            f"{type(value).__name__}; for data use LinePlot, ScatterPlot or BarPlot"
        )

    def _image(self, figure: Any) -> str:
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format=self.format)
        except ValueError as e:  # matplotlib names the formats it can write
            raise Error(f"Plot(format={self.format!r}) cannot be written: {e}") from None
        pyplot = sys.modules.get("matplotlib.pyplot")
        figure_type = loaded_type("matplotlib.figure", "Figure")
        if pyplot is not None and figure_type is not None and isinstance(figure, figure_type):
            pyplot.close(figure)  # as Gradio: a returned figure is done with
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f"data:image/{self.format};base64,{encoded}"

    def api_info(self) -> dict[str, Any]:
        return dict(_PLOT_SCHEMA)

    def own_props(self) -> dict[str, Any]:
        return {"format": self.format, "bokeh_version": _installed_version("bokeh")}


def _library_of(value: Any) -> str | None:
    """Which plotting library made `value`, by its module as Gradio tells them apart; an
    object with matplotlib's savefig() counts as matplotlib."""
    module = value.__name__ if isinstance(value, types.ModuleType) else type(value).__module__
    for library in ("matplotlib", "bokeh", "plotly", "altair"):
        if module == library or module.startswith(library + "."):
            return library
    return "matplotlib" if callable(getattr(value, "savefig", None)) else None


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


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


_AGGREGATES = ("sum", "mean", "median", "min", "max", "count")
_TOOLTIPS = ("axis", "none", "all")
_SORTS = ("x", "y", "-x", "-y")
_PLOT_BUTTONS = ("fullscreen", "export")
_TIME_BIN = re.compile(r"\d+(\.\d+)?[smhd]")
# The props the page reads to draw; each is sent as given (None: Gradio's default).
_DRAWING_PROPS = (
    "x", "y", "color", "title", "x_title", "y_title", "color_title", "x_bin", "y_aggregate",
    "color_map", "colors_in_legend", "x_lim", "y_lim", "x_label_angle", "y_label_angle",
    "x_axis_format", "y_axis_format", "x_axis_labels_visible", "caption", "sort", "tooltip",
    "height", "buttons",
)  # fmt: skip


def _check_native_options(name: str, options: dict[str, Any]) -> None:
    """Refuse values the page could not draw, naming the argument and what it takes."""
    x_bin, aggregate = options["x_bin"], options["y_aggregate"]
    if x_bin is not None and not (
        (isinstance(x_bin, int | float) and not isinstance(x_bin, bool) and x_bin > 0)
        or (isinstance(x_bin, str) and _TIME_BIN.fullmatch(x_bin))
    ):
        raise ValueError(f"{name} x_bin is a positive number or a time like '10m', got {x_bin!r}")
    if aggregate is not None and aggregate not in _AGGREGATES:
        raise ValueError(f"{name} y_aggregate must be one of {_AGGREGATES}, got {aggregate!r}")
    tooltip, sort = options["tooltip"], options["sort"]
    if not (tooltip in _TOOLTIPS or (isinstance(tooltip, list) and _strings(tooltip))):
        raise ValueError(f"{name} tooltip is one of {_TOOLTIPS} or a list of columns")
    if sort is not None and not (sort in _SORTS or (isinstance(sort, list) and _strings(sort))):
        raise ValueError(f"{name} sort is one of {_SORTS} or a list of x values, got {sort!r}")
    if options["x_axis_labels_visible"] not in (True, False, "hidden"):
        raise ValueError(f"{name} x_axis_labels_visible is True, False or 'hidden'")
    for button in options["buttons"] or []:
        if not isinstance(button, str):
            raise ValueError(
                f"{name} buttons are among {_PLOT_BUTTONS}; webui shows no custom ones"
            )
        if button not in _PLOT_BUTTONS:  # Gradio's page ignores other names too
            logger.warning("%s has no %r button; it has %s", name, button, _PLOT_BUTTONS)


def _strings(values: list[Any]) -> bool:
    return all(isinstance(v, str) for v in values)


class _NativePlot(Changeable, Selectable, DoubleClickable, Component):
    """Data for the browser to chart: `{"columns", "data", "datatypes", "mark"}`.

    Binning (`x_bin`), aggregation (`y_aggregate`, by default a sum over equal x values when x
    is binned or nominal), sorting, colours, tooltips, axis formats (d3-format) and limits are
    applied by the page, as Gradio's Vega-Lite spec applies them, so the payload stays Gradio's.
    """

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
        color_title: str | None = None,
        x_bin: str | float | None = None,
        y_aggregate: str | None = None,
        color_map: dict[str, str] | None = None,
        colors_in_legend: list[str] | None = None,
        x_lim: list[float | None] | None = None,
        y_lim: list[float | None] | None = None,
        x_label_angle: float = 0,
        y_label_angle: float = 0,
        x_axis_format: str | None = None,
        y_axis_format: str | None = None,
        x_axis_labels_visible: bool | str = True,
        caption: str | None = None,
        sort: str | list[str] | None = None,
        tooltip: str | list[str] = "axis",
        height: int | None = None,
        buttons: list[str] | None = None,
        **kwargs: Any,
    ):
        options = {k: v for k, v in locals().items() if k in _DRAWING_PROPS}
        _check_native_options(type(self).__name__, options)
        for key, given in options.items():
            setattr(self, key, given)
        self.buttons = list(buttons or [])
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
        return {key: getattr(self, key) for key in _DRAWING_PROPS}


class LinePlot(_NativePlot):
    mark = "line"


class ScatterPlot(_NativePlot):
    mark = "point"


class BarPlot(_NativePlot):
    mark = "bar"
