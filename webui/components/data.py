"""Data components: Dataframe (a table) and CheckboxGroup (Label: `label.py`)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, ClassVar, Literal

from webui.components.base import Component, check_choices
from webui.components.options import check_buttons
from webui.errors import Error
from webui.events import Changeable, Editable, Selectable

_DATAFRAME_SCHEMA: dict[str, Any] = {
    "properties": {
        "headers": {"items": {}, "title": "Headers", "type": "array"},
        "data": {"items": {"items": {}, "type": "array"}, "title": "Data", "type": "array"},
        "metadata": {
            "anyOf": [
                {
                    "additionalProperties": {
                        "anyOf": [{"items": {}, "type": "array"}, {"type": "null"}]
                    },
                    "type": "object",
                },
                {"type": "null"},
            ],
            "default": None,
            "title": "Metadata",
        },
    },
    "required": ["headers", "data"],
    "title": "DataframeData",
    "type": "object",
}
DATAFRAME_TYPES = ("pandas", "numpy", "array")


def import_pandas(purpose: str) -> Any:
    """pandas, imported on first use so webui runs without it; a clear error names `purpose`."""
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{purpose} needs pandas: pip install pandas") from None
    return pandas


def is_dataframe(value: Any) -> bool:
    """Whether `value` is a pandas DataFrame, without importing pandas when nothing else has."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def is_styler(value: Any) -> bool:
    """Whether `value` is a pandas Styler (`df.style...`), without importing pandas."""
    style = sys.modules.get("pandas.io.formats.style")
    return style is not None and isinstance(value, style.Styler)


def styler_metadata(styler: Any, columns: list[int]) -> dict[str, list[list[Any]]]:
    """Gradio's `metadata` of a Styler's table: each shown cell's formatted text
    (`display_value`) and its CSS declarations (`styling`, "" for none), row by row.

    Read from the Styler's computed render tree (`_compute()._translate()`), as Gradio reads it:
    pandas has no public API for a cell's computed style."""
    try:
        tree = styler._compute()._translate(None, None)
    except Exception as error:  # a pandas whose private render tree differs
        raise Error(f"Dataframe cannot read the Styler's cell styles: {error}") from error
    css = {
        selector: "; ".join(f"{name}: {value}" for name, value in style.get("props", []))
        for style in tree.get("cellstyle", [])
        for selector in style.get("selectors", [])
    }
    shown = set(columns)
    display: list[list[Any]] = []
    styling: list[list[str]] = []
    for row in tree["body"]:
        cells = [cell for cell in row if cell.get("type") == "td"]
        cells = [cell for i, cell in enumerate(cells) if i in shown]
        display.append([json_cell(cell.get("display_value")) for cell in cells])
        styling.append([css.get(cell.get("id"), "") for cell in cells])
    return {"display_value": display, "styling": styling}


def json_cell(cell: Any) -> Any:
    """A table cell as JSON can carry it: numpy scalars unwrapped, NaN as null."""
    if hasattr(cell, "item") and callable(cell.item) and getattr(cell, "ndim", None) == 0:
        cell = cell.item()
    if isinstance(cell, float) and not math.isfinite(cell):
        return None
    if cell is None or isinstance(cell, str | int | float | bool):
        return cell
    return str(cell)


def _limits(given: Any) -> tuple[int | None, int | None]:
    if given is None:
        return None, None
    if not isinstance(given, tuple | list) or len(given) != 2:
        raise ValueError(f"Dataframe column_limits must be (min, max), got {given!r}")
    low, high = given
    for bound in (low, high):
        if bound is not None and (not isinstance(bound, int) or bound < 0):
            raise ValueError(f"Dataframe column_limits must be counts or None, got {given!r}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"Dataframe column_limits minimum {low} is above its maximum {high}")
    return low, high


_SEARCH_MODES = ("none", "search", "filter")


def check_dataframe_look(options: dict[str, Any]) -> None:
    """Refuse Dataframe look options the page could not apply, naming the option."""
    search = options.get("show_search", "none")
    if search not in _SEARCH_MODES:
        raise ValueError(f"Dataframe show_search must be one of {_SEARCH_MODES}, got {search!r}")
    widths = options.get("column_widths")
    if widths is not None and not all(isinstance(w, str | int) for w in widths):
        raise ValueError(f"Dataframe column_widths are like 100, '100px' or '10%', got {widths!r}")
    static = options.get("static_columns")
    if static is not None and not all(isinstance(c, int) for c in static):
        raise ValueError(f"Dataframe static_columns are column indices, got {static!r}")
    max_chars = options.get("max_chars")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
        raise ValueError(f"Dataframe max_chars must be a positive int, got {max_chars!r}")
    check_buttons(type_name="Dataframe", given=options.get("buttons"), offered=_TABLE_BUTTONS)


_TABLE_BUTTONS = ("fullscreen", "copy")


def _count(given: int | tuple[int, str] | list[Any], name: str) -> tuple[int, str]:
    count, mode = (given, "dynamic") if isinstance(given, int) else tuple(given)
    if not isinstance(count, int) or count < 0 or mode not in ("fixed", "dynamic"):
        raise ValueError(f"Dataframe {name} must be n or (n, 'fixed' | 'dynamic'), got {given!r}")
    return count, mode


class Dataframe(Changeable, Selectable, Editable, Component):
    """A table; `fn` sees a pandas DataFrame (`type="pandas"`), a numpy array or a list of rows.

    The payload is `{"headers": [...], "data": [[...], ...], "metadata": ...}`. Results may be a
    DataFrame, a pandas Styler (`df.style...`: its cells' formatted text and CSS travel in
    `metadata`, as Gradio sends them), a numpy array, a list of rows, a dict of columns, or a
    payload dict.
    """

    block_type = "dataframe"
    python_type = (
        "dict(headers: list[Any], data: list[list[Any]], metadata: dict(str, list[Any] | None) "
        "| None)"
    )
    example: ClassVar[Any] = {"headers": ["a", "b"], "data": [["foo", "bar"]]}
    look_options = frozenset(
        {
            *("column_widths", "wrap", "max_chars", "show_row_numbers", "show_search"),
            *("static_columns", "max_height", "buttons", "show_copy_button"),
        }
    )

    def __init__(
        self,
        value: Any = None,
        *,
        headers: list[str] | None = None,
        row_count: int | tuple[int, str] = (1, "dynamic"),
        col_count: int | tuple[int, str] | None = None,
        column_count: int | None = None,
        column_limits: tuple[int | None, int | None] | None = None,
        datatype: str | list[str] = "str",
        type: Literal["pandas", "numpy", "array"] = "pandas",
        **kwargs: Any,
    ):
        """`column_count` is Gradio 6's name for the initial number of columns (`col_count`
        the older one); `column_limits=(min, max)` bounds the columns a payload may have
        (min == max fixes them). Look options: see `check_dataframe_look`."""
        if type not in DATAFRAME_TYPES:
            raise ValueError(f"Dataframe type must be one of {DATAFRAME_TYPES}, got {type!r}")
        self.row_count = _count(row_count, "row_count")
        self.column_limits = _limits(column_limits)
        if column_count is not None:
            if col_count is not None:
                raise ValueError("Dataframe takes column_count or col_count, not both")
            fixed = self.column_limits == (column_count, column_count) or bool(
                kwargs.get("static_columns")
            )
            col_count = (column_count, "fixed" if fixed else "dynamic")
        if col_count is None:
            col_count = (len(headers), "dynamic") if headers else (3, "dynamic")
        self.col_count = _count(col_count, "col_count")
        check_dataframe_look(kwargs)
        self.headers = [str(h) for h in headers] if headers else None
        if self.headers and self.col_count[1] == "fixed" and len(self.headers) != self.col_count[0]:
            raise ValueError(
                f"Dataframe has {len(self.headers)} headers but col_count fixes "
                f"{self.col_count[0]} columns"
            )
        self.datatype = datatype
        self.type = type
        super().__init__(value, **kwargs)

    def _default_headers(self, columns: int) -> list[str]:
        given = self.headers or []
        return [given[i] if i < len(given) else str(i + 1) for i in range(columns)]

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        headers, rows = self._check_payload(payload)
        if self.col_count[1] == "fixed" and len(headers) != self.col_count[0]:
            raise Error(
                f"{self.label or 'Dataframe'} has {self.col_count[0]} fixed columns, "
                f"got {len(headers)}"
            )
        low, high = self.column_limits
        if (low is not None and len(headers) < low) or (high is not None and len(headers) > high):
            raise Error(
                f"{self.label or 'Dataframe'} takes {low or 0} to {high or 'any number of'} "
                f"columns (column_limits), got {len(headers)}"
            )
        if self.type == "array":
            return rows
        if self.type == "numpy":
            import numpy

            return numpy.array(rows)
        pandas = import_pandas("Dataframe(type='pandas')")
        return pandas.DataFrame(rows, columns=headers)

    def _check_payload(self, payload: Any) -> tuple[list[str], list[list[Any]]]:
        name = self.label or "Dataframe"
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise Error(f"{name} expects {{'headers': [...], 'data': [[...]]}}, got {payload!r}")
        rows = payload["data"]
        if not all(isinstance(row, list) for row in rows):
            raise Error(f"{name} 'data' must be a list of rows (lists)")
        width = len(rows[0]) if rows else len(payload.get("headers") or [])
        if any(len(row) != width for row in rows):
            raise Error(f"{name} rows must all have {width} cells")
        headers = payload.get("headers")
        if headers is None:
            headers = self._default_headers(width)
        if not isinstance(headers, list) or (rows and len(headers) != width):
            raise Error(f"{name} needs one header per column ({width}), got {headers!r}")
        return [str(h) for h in headers], rows

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return {
                "headers": self._default_headers(self.col_count[0]),
                "data": [],
                "metadata": None,
            }
        if is_styler(value):  # the values, and Gradio's metadata of the styled cells
            hidden = {int(c) for c in getattr(value, "hidden_columns", [])}
            columns = [i for i in range(value.data.shape[1]) if i not in hidden]
            table = self.postprocess(value.data.iloc[:, columns])
            if table is not None and table["data"]:
                table["metadata"] = styler_metadata(value, columns)
            return table
        if is_dataframe(value):
            split = json.loads(value.to_json(orient="split", date_format="iso", index=False))
            headers = [str(c) for c in value.columns]
            rows = [[json_cell(c) for c in row] for row in split["data"]]
            return {"headers": headers, "data": rows, "metadata": None}
        if hasattr(value, "tolist") and getattr(value, "ndim", None) in (1, 2):
            value = value.tolist()
        if isinstance(value, dict):
            return self._from_dict(value)
        if isinstance(value, list | tuple):
            rows = [list(r) if isinstance(r, list | tuple) else [r] for r in value]
            return self._table(self._default_headers(len(rows[0]) if rows else 0), rows, None)
        raise Error(
            f"{self.label or 'Dataframe'} cannot show {type(value).__name__}: return a pandas "
            "DataFrame, a numpy array, a list of rows or a dict of columns"
        )

    def _from_dict(self, value: dict[str, Any]) -> dict[str, Any]:
        if "data" in value:  # already a payload
            headers, rows = self._check_payload(value)
            return self._table(headers, rows, value.get("metadata"))
        columns = [list(c.tolist() if hasattr(c, "tolist") else c) for c in value.values()]
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise Error(f"{self.label or 'Dataframe'} columns differ in length: {sorted(lengths)}")
        rows = [list(row) for row in zip(*columns, strict=True)]
        return self._table([str(k) for k in value], rows, None)

    def _table(self, headers: list[str], rows: list[list[Any]], metadata: Any) -> dict[str, Any]:
        width = len(headers)
        if any(len(row) != width for row in rows):
            raise Error(f"{self.label or 'Dataframe'} rows must all have {width} cells")
        data = [[json_cell(c) for c in row] for row in rows]
        return {"headers": headers, "data": data, "metadata": metadata}

    def api_info(self) -> dict[str, Any]:
        return dict(_DATAFRAME_SCHEMA)

    def own_props(self) -> dict[str, Any]:
        return {
            "headers": self._default_headers(self.col_count[0]),
            "row_count": list(self.row_count),
            "col_count": list(self.col_count),
            "column_count": list(self.col_count),
            "datatype": self.datatype,
            "type": self.type,
        }


class CheckboxGroup(Changeable, Selectable, Component):
    """Any number of choices ticked: `fn` sees the list of values (or indices, type="index")."""

    block_type = "checkboxgroup"
    look_options = frozenset({"info", "buttons"})

    def __init__(
        self,
        choices: list[Any] | None = None,
        value: list[Any] | Any = None,
        *,
        type: Literal["value", "index"] = "value",
        **kwargs: Any,
    ):
        if type not in ("value", "index"):
            raise ValueError(f"CheckboxGroup type must be 'value' or 'index', got {type!r}")
        self.choices, self._has_choice = check_choices(choices, "CheckboxGroup")
        self.type = type
        check_buttons(
            type_name="CheckboxGroup", given=kwargs.get("buttons"), offered=(), custom=True
        )
        super().__init__([] if value is None else value, **kwargs)

    @property
    def python_type(self) -> str:  # type: ignore[override]
        return f"list[Literal[{', '.join(repr(v) for _, v in self.choices)}]]"

    def _values(self) -> list[Any]:
        return [v for _, v in self.choices]

    def preprocess(self, payload: Any) -> list[Any] | None:
        if payload is None:
            return None
        if not isinstance(payload, list):
            raise Error(f"{self.label or 'CheckboxGroup'} expects a list, got {payload!r}")
        for item in payload:
            if not self._has_choice(item):
                raise Error(f"Value: {item!r} is not in the list of choices: {self._values()}")
        if self.type == "index":
            return [self._values().index(item) for item in payload]
        return payload

    def postprocess(self, value: Any) -> list[Any]:
        if value is None:
            return []
        return list(value) if isinstance(value, list | tuple | set) else [value]

    def api_info(self) -> dict[str, Any]:
        return {
            "items": {"enum": self._values(), "type": "string"},
            "title": "Checkbox Group",
            "type": "array",
        }

    def example_payload(self) -> Any:
        return self._values()[:1]

    def own_props(self) -> dict[str, Any]:
        return {"choices": [list(pair) for pair in self.choices], "type": self.type}


DataFrame = Dataframe  # both spellings exist in Gradio
