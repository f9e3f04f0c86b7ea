// Plots: gr.Plot shows a matplotlib figure (a PNG data URL) as an image; the native plots
// (LinePlot, ScatterPlot, BarPlot) draw their {columns, data, datatypes, mark} as SVG.

import { el, fieldset } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 320;
const PAD = { left: 56, right: 16, top: 16, bottom: 40 };
const PALETTE = ["var(--color-accent)", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4"];

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text != null) node.textContent = text;
  return node;
}

function plotDocument(props, value, box) {
  if (value?.type === "matplotlib" || (typeof value?.plot === "string" && value.plot.startsWith("data:image"))) {
    box.replaceChildren(el("img", { class: "webui-plot-image", src: value.plot, alt: props.label ?? "plot" }));
  } else if (value) {
    box.replaceChildren(el("p", { class: "webui-muted", text: `${value.type} plots are not drawn by this page` }));
  } else box.replaceChildren();
}

// x values: numbers stay numbers, dates become times, other values are spread as categories.
function scaleFor(values, kind, from, to) {
  if (kind === "nominal" || values.some((v) => typeof v === "string" && kind !== "temporal")) {
    const names = [...new Set(values.map(String))];
    const step = (to - from) / Math.max(names.length, 1);
    return { map: (v) => from + step * (names.indexOf(String(v)) + 0.5), ticks: names.map((n) => [n, n]), band: step };
  }
  const numbers = values.map((v) => (kind === "temporal" ? new Date(v).getTime() : Number(v)));
  let lo = Math.min(...numbers);
  let hi = Math.max(...numbers);
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const map = (v) => from + ((kind === "temporal" ? new Date(v).getTime() : Number(v)) - lo) / (hi - lo) * (to - from);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const raw = lo + t * (hi - lo);
    const text = kind === "temporal" ? new Date(raw).toISOString().slice(0, 10) : Number(raw.toPrecision(4)).toString();
    return [raw, text];
  });
  return { map, ticks, numeric: true };
}

function nativeDocument(props, value, box) {
  if (!value?.columns || !value?.data?.length) {
    box.replaceChildren(el("p", { class: "webui-muted", text: "No data" }));
    return;
  }
  const column = (name) => value.columns.indexOf(name);
  const xi = column(props.x ?? value.columns[0]);
  const yi = column(props.y ?? value.columns[1]);
  const ci = props.color ? column(props.color) : -1;
  const rows = value.data.filter((row) => row[yi] != null);
  const kinds = value.datatypes ?? {};
  const x = scaleFor(rows.map((r) => r[xi]), kinds[value.columns[xi]], PAD.left, WIDTH - PAD.right);
  const ys = rows.map((r) => Number(r[yi]));
  const yScale = scaleFor(value.mark === "bar" ? [0, ...ys] : ys, "quantitative", HEIGHT - PAD.bottom, PAD.top);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "webui-plot-svg", role: "img" });
  chart.append(
    svg("line", { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: WIDTH - PAD.right, y2: HEIGHT - PAD.bottom, class: "webui-axis" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom, class: "webui-axis" }),
  );
  for (const [raw, text] of x.ticks) {
    const at = x.numeric ? x.map(raw) : x.map(text);
    chart.append(svg("text", { x: at, y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle", class: "webui-tick" }, text));
  }
  for (const [raw, text] of yScale.ticks) {
    chart.append(svg("text", { x: PAD.left - 6, y: yScale.map(raw) + 4, "text-anchor": "end", class: "webui-tick" }, text));
  }
  const groups = new Map();
  for (const row of rows) {
    const key = ci >= 0 ? String(row[ci]) : "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  [...groups.entries()].forEach(([name, group], g) => {
    const color = PALETTE[g % PALETTE.length];
    const points = group.map((r) => [x.map(r[xi]), yScale.map(r[yi])]);
    if (value.mark === "line") {
      points.sort((a, b) => a[0] - b[0]);
      chart.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": name }));
    } else if (value.mark === "bar") {
      const width = Math.max((x.band ?? 12) * 0.8 / groups.size, 2);
      for (const [px, py] of points) {
        const left = px - ((x.band ?? 12) * 0.4) + g * width;
        chart.append(svg("rect", { x: left, y: py, width, height: HEIGHT - PAD.bottom - py, fill: color }));
      }
    } else {
      for (const [px, py] of points) chart.append(svg("circle", { cx: px, cy: py, r: 3.5, fill: color }));
    }
  });
  const parts = [props.title ? el("div", { class: "webui-plot-title", text: props.title }) : null, chart];
  if (groups.size > 1) {
    const legend = el("div", { class: "webui-plot-legend" });
    [...groups.keys()].forEach((name, g) => {
      const swatch = el("span", { class: "webui-swatch" });
      swatch.style.background = PALETTE[g % PALETTE.length];
      legend.append(el("span", {}, swatch, name));
    });
    parts.push(legend);
  }
  box.replaceChildren(...parts.filter(Boolean));
}

function plotBlock(props, draw) {
  const box = el("div", { class: "webui-plot" });
  let value = props.value ?? null;
  draw(props, value, box);
  const element = fieldset(props, box);
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw(props, value, box);
    },
    update(changed) {
      Object.assign(props, changed);
      if ("label" in changed) element.setLabel(changed.label);
      draw(props, value, box);
    },
  };
}

export const plot = (props) => plotBlock(props, plotDocument);
export const nativeplot = (props) => plotBlock(props, nativeDocument);
