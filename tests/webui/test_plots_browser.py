"""Plots in headless Chromium: matplotlib figures as images, plotly and Vega-Lite figures drawn
offline (or a fallback that says why), native plots with Gradio's drawing options, and the
d3-format subset of the axes. Skipped where chromium and chromium-driver are absent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

plt = pytest.importorskip("matplotlib.pyplot")
go = pytest.importorskip("plotly.graph_objects")
px = pytest.importorskip("plotly.express")

VEGA_BARS = {
    "mark": {"type": "bar"},
    "data": {"name": "d"},
    "datasets": {"d": [{"k": "a", "n": 1}, {"k": "b", "n": 3}, {"k": "a", "n": 2}]},
    "encoding": {
        "x": {"field": "k", "type": "nominal"},
        "y": {"field": "n", "type": "quantitative"},
    },
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,2400", console_errors=True) as driver:
        yield driver


def build_app() -> gr.Blocks:
    figure, axis = plt.subplots()
    axis.plot([0, 1, 2], [0, 1, 0])
    sales = pd.DataFrame(
        {"shop": ["x", "y", "z", "x", "y"], "sold": [5, 9, 1, 2, 2], "kind": list("ppqqq")}
    )
    steps = pd.DataFrame({"t": [0, 1, 2, 3, 10, 11], "v": [1, 3, 5, 7, 10, 20]})
    with gr.Blocks() as demo:
        gr.Plot(figure, elem_id="mpl")
        gr.Plot(px.line(x=[0.0, 0.5, 1.0], y=[1.0, 2.0, 0.5], title="Line"), elem_id="plotly")
        gr.Plot(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])), elem_id="heatmap")
        gr.Plot({"type": "altair", "plot": json.dumps(VEGA_BARS)}, elem_id="vega")
        layered = {"layer": [VEGA_BARS], "datasets": VEGA_BARS["datasets"]}
        gr.Plot({"type": "altair", "plot": json.dumps(layered)}, elem_id="layered")
        gr.Plot({"type": "bokeh", "plot": "{}"}, elem_id="bokeh")
        gr.BarPlot(
            sales,
            x="shop",
            y="sold",
            color="kind",
            sort="-y",
            color_map={"p": "#ff0000"},
            color_title="Kind",
            tooltip=["shop", "sold"],
            y_axis_format=".0%",
            buttons=["export"],
            elem_id="bars",
        )
        gr.LinePlot(steps, x="t", y="v", x_bin=5, y_aggregate="mean", elem_id="binned")
    return demo


def test_plots_draw_offline(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    browser.get(serve(build_app()))
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#binned polyline"))
    source = browser.find_element(By.CSS_SELECTOR, "#mpl img").get_attribute("src")
    assert source.startswith("data:image/webp;base64,")

    line = browser.find_element(By.CSS_SELECTOR, "#plotly polyline")
    assert len(line.get_attribute("points").split()) == 3
    assert browser.find_element(By.CSS_SELECTOR, "#plotly .webui-plot-title").text == "Line"
    fallback = browser.find_element(By.CSS_SELECTOR, "#heatmap .webui-plot-fallback").text
    assert "heatmap" in fallback and "plotly.js" in fallback

    layered_note = browser.find_element(By.CSS_SELECTOR, "#layered .webui-plot-fallback").text
    assert "layered" in layered_note and "vega-embed" in layered_note
    bokeh_note = browser.find_element(By.CSS_SELECTOR, "#bokeh .webui-plot-fallback").text
    assert "BokehJS" in bokeh_note

    vega_bars = browser.find_elements(By.CSS_SELECTOR, "#vega rect:not(clipPath rect)")
    heights = sorted(float(b.get_attribute("height")) for b in vega_bars)
    assert len(heights) == 2 and heights[0] == pytest.approx(heights[1])  # a: 1+2, b: 3

    ticks = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#bars .webui-tick")]
    assert ticks[:3] == ["y", "x", "z"]  # sort="-y": totals 11, 7, 1
    assert any(t.endswith("%") for t in ticks[3:])
    red = browser.find_elements(By.CSS_SELECTOR, "#bars rect[fill='#ff0000']")
    assert len(red) == 2  # the "p" rows of x and y
    tips = [
        t.get_attribute("textContent")
        for t in browser.find_elements(By.CSS_SELECTOR, "#bars title")
    ]
    assert "shop: y\nsold: 9\nkind: p" in tips
    legend = browser.find_element(By.CSS_SELECTOR, "#bars .webui-plot-legend").text
    assert legend.split() == ["Kind", "p", "q"]
    export = browser.find_element(By.CSS_SELECTOR, "#bars .webui-plot-export")
    browser.execute_script(  # catch the download link the button makes
        "HTMLAnchorElement.prototype.click = function () {"
        "  window.exported = [this.href, this.download];"
        "};"
    )
    export.click()
    href, name = until(lambda: browser.execute_script("return window.exported"))
    assert href.startswith("data:image/png;base64,") and name == "plot.png"

    points = browser.find_element(By.CSS_SELECTOR, "#binned polyline").get_attribute("points")
    assert len(points.split()) == 2  # bins [0, 5) and [10, 15), means 4 and 15
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]


@pytest.mark.parametrize(
    ("spec", "value", "text"),
    [
        (".2f", 3.14159, "3.14"),
        (",.0f", 1234567, "1,234,567"),
        (".1%", 0.256, "25.6%"),
        (".2e", 12345, "1.23e+4"),
        ("~g", 0.5, "0.5"),
        (".3s", 12345, "12.3k"),
        ("+d", 4, "+4"),
        ("$,.2f", -1234.5, "−$1,234.50"),
        ("06.1f", 3.14, "0003.1"),
    ],
)
def test_axis_formats(
    browser: Driver, serve: Callable[[gr.Blocks], str], spec: str, value: float, text: str
) -> None:
    if not browser.current_url.startswith("http"):
        browser.get(serve(gr.Blocks()))
    result = browser.execute_async_script(
        "const [spec, value, done] = arguments;"
        "import('/static/components/chart.js').then((m) => done(m.numberFormat(spec)(value)));",
        spec,
        value,
    )
    assert result == text


def test_dragging_across_the_x_axis_selects_a_range(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    """As Gradio's plot_guide_zoom: the selection's index becomes x_lim; a double click resets."""
    frame = pd.DataFrame({"t": [0, 10, 20, 30, 40], "v": [1, 2, 3, 2, 1]})
    with gr.Blocks() as demo:
        plot = gr.LinePlot(frame, x="t", y="v", elem_id="zoom")
        chosen = gr.Textbox(elem_id="range")

        def select(selection: gr.SelectData) -> tuple[gr.LinePlot, str]:
            low, high = selection.index
            return gr.LinePlot(x_lim=[low, high]), f"{low:.0f}-{high:.0f}"

        plot.select(select, None, [plot, chosen])
        plot.double_click(lambda: (gr.LinePlot(x_lim=None), "reset"), None, [plot, chosen])
    browser.get(serve(demo))
    chart = until(lambda: browser.find_element(By.CSS_SELECTOR, "#zoom svg"))
    scale, shift = browser.execute_script(
        "const m = document.querySelector('#zoom svg').getScreenCTM(); return [m.a, m.e];"
    )
    centre = chart.rect["x"] + chart.rect["width"] / 2

    def offset(t: float) -> int:  # from the chart's centre; the viewBox's x 64..624 is t 0..40
        return round(scale * (64 + t / 40 * 560) + shift - centre)

    def shown() -> str:
        return browser.find_element(By.CSS_SELECTOR, "#range input").get_attribute("value")

    drag = ActionChains(browser).move_to_element_with_offset(chart, offset(10), 0)
    drag.click_and_hold().move_by_offset(offset(30) - offset(10), 0).release().perform()
    until(lambda: shown() == "10-30")
    # x_lim is the dragged range now: the x ticks lie within it (0 and 40 are gone)
    until(lambda: browser.find_element(By.CSS_SELECTOR, "#zoom .webui-tick").text in ("10", "15"))
    redrawn = browser.find_element(By.CSS_SELECTOR, "#zoom svg")  # the update drew a new one
    ActionChains(browser).double_click(redrawn).perform()
    until(lambda: shown() == "reset")
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
