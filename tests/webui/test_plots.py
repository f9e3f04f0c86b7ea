"""Plots: a figure becomes a PNG data URL; native plots send their data for the browser."""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from gradio_client import Client

import webui as gr
from webui.errors import Error

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeFigure:
    """Stands in for a matplotlib figure: the Plot contract is `savefig(file, format="png")`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def savefig(self, file: io.BytesIO, **options: Any) -> None:
        self.calls.append(options)
        file.write(PNG_MAGIC + b"rest")


def test_plot_encodes_a_figure_as_png_data_url() -> None:
    figure = FakeFigure()
    payload = gr.Plot().postprocess(figure)
    assert payload["type"] == "matplotlib"
    prefix = "data:image/png;base64,"
    assert payload["plot"].startswith(prefix)
    assert base64.b64decode(payload["plot"][len(prefix) :]) == PNG_MAGIC + b"rest"
    assert figure.calls[0]["format"] == "png"
    assert gr.Plot().postprocess(None) is None


def test_plot_refuses_data_with_a_pointer_to_native_plots() -> None:
    with pytest.raises(Error, match="use LinePlot"):
        gr.Plot().postprocess({"x": [1]})


def test_line_plot_from_a_dataframe() -> None:
    frame = pd.DataFrame(
        {
            "t": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "tokens": [10, 12.5],
            "model": ["a", "b"],
        }
    )
    payload = gr.LinePlot(x="t", y="tokens", color="model").postprocess(frame)
    assert payload["columns"] == ["t", "tokens", "model"]
    assert payload["datatypes"] == {"t": "temporal", "tokens": "quantitative", "model": "nominal"}
    assert payload["mark"] == "line"
    assert payload["data"][1][1:] == [12.5, "b"]
    assert payload["data"][0][0].startswith("2026-01-01")


def test_line_plot_from_a_dict_of_columns() -> None:
    columns = {"step": [1, 2, 3], "loss": [0.9, 0.5, 0.4], "day": [datetime.date(2026, 1, 1)] * 3}
    payload = gr.ScatterPlot(x="step", y="loss").postprocess(columns)
    assert payload["data"] == [
        [1, 0.9, "2026-01-01"],
        [2, 0.5, "2026-01-01"],
        [3, 0.4, "2026-01-01"],
    ]
    assert payload["datatypes"] == {
        "step": "quantitative",
        "loss": "quantitative",
        "day": "temporal",
    }
    assert payload["mark"] == "point"


def test_line_plot_names_a_missing_column() -> None:
    with pytest.raises(Error, match="y='loss' is not a column"):
        gr.LinePlot(x="step", y="loss").postprocess({"step": [1]})
    with pytest.raises(Error, match="columns differ in length"):
        gr.BarPlot(x="a", y="b").postprocess({"a": [1, 2], "b": [1]})
    with pytest.raises(Error, match="takes a pandas DataFrame or a dict"):
        gr.LinePlot(x="a", y="b").postprocess([[1, 2]])


def test_line_plot_through_the_client(serve: Callable[[gr.Blocks], str]) -> None:
    def history(n: float) -> dict[str, list[float]]:
        return {"step": list(range(int(n))), "value": [i * i for i in range(int(n))]}

    with gr.Blocks() as demo:
        count = gr.Number(3)
        plot = gr.LinePlot(x="step", y="value", title="Squares")
        gr.Button().click(history, count, plot, api_name="history")
    client = Client(serve(demo), verbose=False)
    payload = client.predict(3, api_name="/history")
    assert payload["data"] == [[0, 0], [1, 1], [2, 4]]
    config = plot.config()
    assert config["type"] == "nativeplot"
    assert config["props"]["x"] == "step" and config["props"]["title"] == "Squares"
