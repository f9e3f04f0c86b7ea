// Native plots (LinePlot, ScatterPlot, BarPlot): Gradio's {columns, data, datatypes, mark} and the
// block's props become a chart model for chart.js, applying what Gradio's Vega-Lite spec applies:
// x_bin, y_aggregate (a sum by default when x is binned or nominal), sort, color_map,
// colors_in_legend, tooltip, limits, titles, label angles and axis formats.

import { PALETTE } from "./chart.js";

const TIME_UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

function aggregate(name, values) {
  const numbers = values.map(Number).filter(Number.isFinite);
  if (name === "count") return values.length;
  if (!numbers.length) return null;
  if (name === "mean") return numbers.reduce((a, b) => a + b, 0) / numbers.length;
  if (name === "median") {
    const sorted = [...numbers].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
  if (name === "min") return Math.min(...numbers);
  if (name === "max") return Math.max(...numbers);
  return numbers.reduce((a, b) => a + b, 0);
}

// [start, end] of the bin holding x: numbers by width, times by "10m"-style durations.
function binOf(x, xBin, kind) {
  if (kind === "temporal") {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)([smhd])$/.exec(String(xBin)) ?? [];
    const width = Number(amount) * TIME_UNITS[unit];
    const start = Math.floor(new Date(x).getTime() / width) * width;
    return [start, start + width];
  }
  const width = Number(xBin);
  const start = Math.floor(Number(x) / width) * width;
  return [Number(start.toPrecision(12)), Number((start + width).toPrecision(12))];
}

function naturalCompare(a, b) {
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
}

function tipText(pairs) {
  return pairs.map(([name, value]) => `${name}: ${value}`).join("\n");
}

export function nativeModel(value, props) {
  const column = (name) => value.columns.indexOf(name);
  const xName = props.x ?? value.columns[0];
  const yName = props.y ?? value.columns[1];
  const [xi, yi] = [column(xName), column(yName)];
  const ci = props.color ? column(props.color) : -1;
  const kinds = value.datatypes ?? {};
  const kind = props.x_bin != null && kinds[xName] !== "temporal" ? "quantitative" : kinds[xName] ?? "quantitative";
  const nominal = kind === "nominal";
  const aggregating = props.x_bin != null || nominal;
  const how = props.y_aggregate ?? "sum";
  const mark = value.mark === "point" ? "point" : value.mark === "bar" ? "bar" : "line";
  const tooltip = props.tooltip ?? "axis";
  const rows = value.data.filter((row) => row[yi] != null || how === "count");

  // Group rows by (x or its bin, series) when aggregating; otherwise every row is a point.
  const groups = new Map();
  for (const row of rows) {
    const series = ci >= 0 ? String(row[ci]) : "";
    const [x, x1] = props.x_bin != null ? binOf(row[xi], props.x_bin, kinds[xName]) : [row[xi], null];
    const key = aggregating ? JSON.stringify([x, series]) : groups.size;
    if (!groups.has(key)) groups.set(key, { x, x1, series, rows: [] });
    groups.get(key).rows.push(row);
  }
  const bySeries = new Map();
  for (const group of groups.values()) {
    const y = aggregating ? aggregate(how, group.rows.map((r) => r[yi])) : group.rows[0][yi];
    const pairs = [[xName, group.x], [yName, y], ...(ci >= 0 ? [[props.color, group.series]] : [])];
    if (!aggregating && tooltip === "all") pairs.splice(0, pairs.length, ...value.columns.map((c, i) => [c, group.rows[0][i]]));
    if (!aggregating && Array.isArray(tooltip)) {
      for (const name of tooltip) if (!pairs.some(([n]) => n === name) && column(name) >= 0) pairs.push([name, group.rows[0][column(name)]]);
    }
    const point = { x: group.x, x1: group.x1, y, tip: tooltip === "none" ? null : tipText(pairs) };
    if (!bySeries.has(group.series)) bySeries.set(group.series, []);
    bySeries.get(group.series).push(point);
  }

  // Nominal x: ascending by default (Vega-Lite's order), or as `sort` says.
  let categories = null;
  if (nominal) {
    const totals = new Map();
    for (const points of bySeries.values()) for (const p of points) totals.set(String(p.x), (totals.get(String(p.x)) ?? 0) + Number(p.y ?? 0));
    categories = [...totals.keys()].sort(naturalCompare);
    const sort = props.sort;
    if (sort === "-x") categories.reverse();
    else if (sort === "y" || sort === "-y") categories.sort((a, b) => (totals.get(a) - totals.get(b)) * (sort === "y" ? 1 : -1));
    else if (Array.isArray(sort)) categories = [...sort.filter((c) => totals.has(c)), ...categories.filter((c) => !sort.includes(c))];
  }

  const names = [...bySeries.keys()].sort(naturalCompare);
  const series = names.map((name, i) => ({
    name,
    color: props.color_map?.[name] ?? PALETTE[i % PALETTE.length],
    mark,
    points: bySeries.get(name),
  }));
  // Bars with a colour stack, as Vega-Lite's do.
  if (mark === "bar" && series.length > 1) {
    const base = new Map();
    for (const s of series) {
      for (const p of s.points) {
        const key = String(p.x);
        p.y0 = base.get(key) ?? 0;
        p.y = p.y0 + Number(p.y ?? 0);
        base.set(key, p.y);
      }
    }
  }
  return {
    xKind: kind,
    categories,
    series,
    bars: "stacked",
    // Gradio takes a temporal x_lim as timestamps in seconds; the chart's times are ms.
    xDomain: kind === "temporal" && props.x_lim ? props.x_lim.map((v) => (v == null ? null : v * 1000)) : props.x_lim,
    yDomain: props.y_lim,
    title: props.title,
    xTitle: props.x_title ?? xName,
    yTitle: props.y_title ?? yName,
    legendTitle: props.color_title ?? props.color,
    legend: ci >= 0 ? names.filter((n) => !props.colors_in_legend || props.colors_in_legend.includes(n)) : [],
    caption: props.caption,
    xAngle: props.x_label_angle,
    yAngle: props.y_label_angle,
    xFormat: props.x_axis_format,
    yFormat: props.y_axis_format,
    xLabels: props.x_axis_labels_visible === true || props.x_axis_labels_visible == null,
    height: props.height,
  };
}
