// Plots: gr.Plot shows a matplotlib figure (an image data URL) as an image, and plotly and altair
// figures through webui's own offline chart (plotspec.js); the native plots (LinePlot,
// ScatterPlot, BarPlot) draw their {columns, data, datatypes, mark} (nativeplot.js). Both draw
// with chart.js; "export" saves the chart as PNG, "fullscreen" shows it alone.

import { drawChart, svg } from "./chart.js";
import { el, fieldset } from "./common.js";
import { nativeModel } from "./nativeplot.js";
import { plotlyModel, vegaLiteModel } from "./plotspec.js";

function legendOf(model) {
  if (!model.legend?.length) return null;
  const colors = new Map(model.series.map((s) => [s.name, s.color]));
  const legend = el("div", { class: "webui-plot-legend" });
  if (model.legendTitle) legend.append(el("strong", { text: model.legendTitle }));
  for (const name of model.legend) {
    const swatch = el("span", { class: "webui-swatch" });
    swatch.style.background = colors.get(name);
    legend.append(el("span", { class: "webui-plot-legend-item" }, swatch, name));
  }
  return legend;
}

function chartParts(model) {
  return [
    model.title ? el("div", { class: "webui-plot-title", text: model.title }) : null,
    drawChart(model),
    legendOf(model),
    model.caption ? el("div", { class: "webui-plot-caption webui-muted", text: model.caption }) : null,
  ].filter(Boolean);
}

function notDrawn(text) {
  return el("p", { class: "webui-muted webui-plot-fallback", text });
}

function parsed(plot) {
  try {
    return typeof plot === "string" ? JSON.parse(plot) : plot;
  } catch {
    return null;
  }
}

function plotDocument(props, value) {
  if (!value) return [];
  if (value.type === "matplotlib" || (typeof value.plot === "string" && value.plot.startsWith("data:image"))) {
    return [el("img", { class: "webui-plot-image", src: value.plot, alt: props.label ?? "plot" })];
  }
  const figure = parsed(value.plot);
  if (value.type === "bokeh") return [notDrawn("Bokeh plots need BokehJS, which webui does not ship (the page fetches nothing from outside the app); return a matplotlib, plotly or altair figure instead.")];
  const model = figure && (value.type === "plotly" ? plotlyModel(figure) : value.type === "altair" ? vegaLiteModel(figure) : null);
  if (!model) return [notDrawn(`This ${value.type} plot could not be read.`)];
  if (model.unsupported) {
    return [notDrawn(`This ${value.type} figure uses ${model.unsupported}, which webui's offline renderer does not draw (webui ships no ${value.type === "plotly" ? "plotly.js" : "vega-embed"}).`)];
  }
  return chartParts(model);
}

function nativeDocument(props, value) {
  if (!value?.columns || !value?.data?.length) return [el("p", { class: "webui-muted", text: "No data" })];
  return chartParts(nativeModel(value, props));
}

// The chart as a PNG file: the SVG with its computed colours inlined, painted on a canvas.
async function exportPng(box, name) {
  const chart = box.querySelector("svg");
  if (!chart) return;
  const copy = chart.cloneNode(true);
  const originals = [chart, ...chart.querySelectorAll("*")];
  [copy, ...copy.querySelectorAll("*")].forEach((node, i) => {
    const style = getComputedStyle(originals[i]);
    for (const key of ["fill", "stroke", "font-size", "font-family"]) node.style.setProperty(key, style.getPropertyValue(key));
  });
  const [width, height] = chart.getAttribute("viewBox").split(" ").slice(2).map(Number);
  copy.setAttribute("width", width);
  copy.setAttribute("height", height);
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(copy))}`;
  await image.decode();
  const canvas = el("canvas", { width: width * 2, height: height * 2 });
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  el("a", { href: canvas.toDataURL("image/png"), download: `${name || "plot"}.png` }).click();
}

// Native plots: dragging across a quantitative or temporal x axis selects that range (`select`
// with index [from, to]; times in seconds, as Gradio's x_lim takes them), a double click fires
// `double_click`, as Gradio's plots do (its zoom demos set x_lim from the selection).
function brushable(box, props, ctx) {
  box.addEventListener("dblclick", () => ctx.emit("double_click"));
  box.addEventListener("pointerdown", (event) => {
    const chart = box.querySelector("svg");
    if (!chart?.xInvert || !props._selectable) return;
    const toChart = (e) => new DOMPoint(e.clientX, e.clientY).matrixTransform(chart.getScreenCTM().inverse());
    const start = toChart(event);
    const { left, right, top, bottom } = chart.area;
    if (start.x < left || start.x > right || start.y < top || start.y > bottom) return;
    const band = svg("rect", { class: "webui-brush", x: start.x, y: top, width: 0, height: bottom - top, fill: "currentColor", "fill-opacity": 0.15 });
    chart.append(band);
    const clamp = (x) => Math.min(right, Math.max(left, x));
    const move = (e) => {
      const x = clamp(toChart(e).x);
      band.setAttribute("x", Math.min(start.x, x));
      band.setAttribute("width", Math.abs(x - start.x));
    };
    const end = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", end);
      band.remove();
      const x = clamp(toChart(e).x);
      if (Math.abs(x - start.x) < 3) return;
      const temporal = chart.dataset.xKind === "temporal";
      const range = [Math.min(start.x, x), Math.max(start.x, x)].map((px) => chart.xInvert(px) / (temporal ? 1000 : 1));
      ctx.emit("select", { index: range, value: range, selected: true });
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", end);
  });
}

function plotBlock(props, draw) {
  const box = el("div", { class: "webui-plot" });
  const exportButton = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm webui-plot-export", text: "Export" });
  const fullscreen = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm webui-plot-fullscreen", text: "Fullscreen" });
  exportButton.addEventListener("click", () => exportPng(box, props.label ?? props.title));
  fullscreen.addEventListener("click", () => box.requestFullscreen?.());
  const tools = el("div", { class: "webui-media-controls" }, exportButton, fullscreen);
  let value = props.value ?? null;
  const render = () => {
    box.replaceChildren(...draw(props, value));
    const buttons = props.buttons ?? [];
    exportButton.hidden = !buttons.includes("export") || !box.querySelector("svg");
    fullscreen.hidden = !buttons.includes("fullscreen");
    tools.hidden = exportButton.hidden && fullscreen.hidden;
  };
  render();
  const element = fieldset(props, box, tools);
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      render();
    },
    update(changed) {
      Object.assign(props, changed);
      if ("label" in changed) element.setLabel(changed.label);
      render();
    },
  };
}

export const plot = (props) => plotBlock(props, plotDocument);
export function nativeplot(props, ctx) {
  const block = plotBlock(props, nativeDocument);
  brushable(block.element.querySelector(".webui-plot"), props, ctx);
  return block;
}
