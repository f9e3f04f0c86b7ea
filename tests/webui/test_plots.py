"""Plots: a figure becomes a PNG data URL; native plots send their data for the browser."""

from __future__ import annotations

import base64
import datetime
import io
import json
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


def test_plot_encodes_a_figure_as_an_image_data_url() -> None:
    figure = FakeFigure()
    payload = gr.Plot(format="png").postprocess(figure)
    assert payload["type"] == "matplotlib"
    prefix = "data:image/png;base64,"
    assert payload["plot"].startswith(prefix)
    assert base64.b64decode(payload["plot"][len(prefix) :]) == PNG_MAGIC + b"rest"
    assert figure.calls[0]["format"] == "png"
    assert gr.Plot().postprocess(None) is None


def test_matplotlib_figures_and_pyplot_itself_as_gradio_sends_them() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    axis.plot([0, 1, 2], [0, 1, 0])
    payload = gr.Plot().postprocess(figure)  # Gradio's default format: webp
    assert payload["plot"].startswith("data:image/webp;base64,")
    webp = base64.b64decode(payload["plot"].split(",", 1)[1])
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    assert not plt.fignum_exists(figure.number)  # closed once sent, as Gradio does
    plt.plot([1, 2], [3, 4])
    png = gr.Plot(format="png").postprocess(plt)  # the pyplot module, as plot_component passes
    assert base64.b64decode(png["plot"].split(",", 1)[1])[:8] == PNG_MAGIC
    plt.close("all")
    with pytest.raises(Error, match="format='nope'"):
        gr.Plot(format="nope").postprocess(FigureThatRefuses())


class FigureThatRefuses:
    def savefig(self, file: io.BytesIO, format: str) -> None:
        raise ValueError(f"Format {format!r} is not supported")


def test_plotly_and_altair_figures_are_their_json() -> None:
    plotly = pytest.importorskip("plotly.graph_objects")
    figure = plotly.Figure(plotly.Scatter(x=[1, 2], y=[3, 4], mode="lines"))
    payload = gr.Plot().postprocess(figure)
    assert payload["type"] == "plotly"
    assert json.loads(payload["plot"])["data"][0]["type"] == "scatter"
    chart = type("Chart", (), {"__module__": "altair.vegalite.v5.api", "to_json": lambda s: "{}"})
    assert gr.Plot().postprocess(chart()) == {"type": "altair", "plot": "{}"}
    assert gr.Plot().own_props()["format"] == "webp"


def test_plot_refuses_custom_buttons() -> None:
    with pytest.raises(ValueError, match="buttons"):
        gr.Plot(buttons=["export"])


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


def test_native_plot_options_reach_the_page_as_given() -> None:
    plot = gr.BarPlot(
        x="a",
        y="b",
        color="c",
        x_bin=10,
        y_aggregate="mean",
        color_map={"p": "red"},
        sort="-y",
        tooltip=["a", "b"],
        x_label_angle=45,
        y_axis_format=".1f",
        x_axis_labels_visible="hidden",
        buttons=["export"],
        color_title="Kind",
    )
    props = plot.own_props()
    assert props["x_bin"] == 10 and props["y_aggregate"] == "mean"
    assert props["color_map"] == {"p": "red"} and props["sort"] == "-y"
    assert props["tooltip"] == ["a", "b"] and props["x_label_angle"] == 45
    assert props["y_axis_format"] == ".1f" and props["x_axis_labels_visible"] == "hidden"
    assert props["buttons"] == ["export"] and props["color_title"] == "Kind"
    assert gr.LinePlot().own_props()["tooltip"] == "axis"  # Gradio's default


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"x_bin": "ten"}, "x_bin"),
        ({"x_bin": -1}, "x_bin"),
        ({"y_aggregate": "avg"}, "y_aggregate"),
        ({"tooltip": "some"}, "tooltip"),
        ({"sort": "z"}, "sort"),
        ({"x_axis_labels_visible": "no"}, "x_axis_labels_visible"),
        ({"buttons": [object()]}, "buttons"),
    ],
)
def test_native_plot_refuses_options_it_cannot_draw(option: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gr.ScatterPlot(x="a", y="b", **option)


def test_returned_native_plot_updates_the_props_it_names(
    serve: Callable[[gr.Blocks], str],
) -> None:
    frame = pd.DataFrame({"a": ["A", "B"], "b": [28, 55]})
    with gr.Blocks() as demo:
        kind = gr.Textbox("simple")
        plot = gr.BarPlot()
        kind.submit(
            lambda _: gr.BarPlot(frame, x="a", y="b", tooltip=["a", "b"], y_lim=[20, 100]),
            kind,
            plot,
            api_name="draw",
        )
    result = Client(serve(demo), verbose=False).predict("simple", api_name="/draw")
    assert result["tooltip"] == ["a", "b"] and result["y_lim"] == [20, 100]
    assert result["value"]["data"] == [["A", 28], ["B", 55]] and result["__type__"] == "update"
