// gr.Plot's plotly and altair (Vega-Lite) figures as chart models for chart.js, drawn offline:
// webui ships neither plotly.js nor vega-embed. What this covers: plotly scatter (lines,
// markers) and bar traces on one pair of axes; Vega-Lite single-view line/point/bar specs with
// inline data. Anything else returns {unsupported: reason} for the page to say so.

import { PALETTE } from "./chart.js";
import { nativeModel } from "./nativeplot.js";

const TYPED = { f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array, i1: Int8Array, u4: Uint32Array, u2: Uint16Array, u1: Uint8Array };
const DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?/;

// plotly.py sends numpy arrays as {dtype, bdata: base64 of little-endian values}.
function arrayOf(data) {
  if (data == null) return null;
  if (Array.isArray(data)) return data;
  if (typeof data === "object" && data.bdata != null && TYPED[data.dtype]) {
    const bytes = Uint8Array.from(atob(data.bdata), (c) => c.charCodeAt(0));
    return Array.from(new TYPED[data.dtype](bytes.buffer));
  }
  return null;
}

function titleText(title) {
  return typeof title === "string" ? title : title?.text ?? null;
}

export function plotlyModel(figure) {
  const traces = figure.data ?? [];
  const unknown = [...new Set(traces.map((t) => t.type ?? "scatter").filter((t) => !["scatter", "scattergl", "bar"].includes(t)))];
  if (unknown.length) return { unsupported: `plotly ${unknown.join(", ")} traces` };
  if (traces.some((t) => (t.xaxis ?? "x") !== "x" || (t.yaxis ?? "y") !== "y")) return { unsupported: "plotly subplots" };
  if (traces.some((t) => t.type === "bar" && t.orientation === "h")) return { unsupported: "horizontal plotly bars" };
  const series = traces.map((trace, i) => {
    const ys = arrayOf(trace.y) ?? [];
    const xs = arrayOf(trace.x) ?? ys.map((_, j) => j);
    const mode = trace.mode ?? (ys.length < 20 ? "lines+markers" : "lines");
    const mark = trace.type === "bar" ? "bar" : mode.includes("lines") ? "line" : "point";
    const color = typeof trace.line?.color === "string" ? trace.line.color : typeof trace.marker?.color === "string" ? trace.marker.color : PALETTE[i % PALETTE.length];
    return {
      name: trace.name || `trace ${i}`,
      showlegend: trace.showlegend !== false && traces.length > 1,
      color,
      mark,
      points: xs.map((x, j) => ({ x, y: ys[j], tip: `${x}, ${ys[j]}` })).filter((p) => p.y != null),
    };
  });
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const xKind = xs.every((x) => typeof x === "number") ? "quantitative" : xs.every((x) => typeof x === "string" && DATE.test(x)) ? "temporal" : "nominal";
  const layout = figure.layout ?? {};
  const stacked = ["stack", "relative"].includes(layout.barmode);
  if (stacked) {
    const base = new Map();
    for (const s of series.filter((s) => s.mark === "bar")) {
      for (const p of s.points) {
        p.y0 = base.get(String(p.x)) ?? 0;
        p.y = p.y0 + Number(p.y);
        base.set(String(p.x), p.y);
      }
    }
  }
  return {
    xKind,
    categories: xKind === "nominal" ? [...new Set(xs.map(String))] : null,
    series,
    bars: stacked ? "stacked" : "grouped",
    xDomain: layout.xaxis?.range ?? null,
    yDomain: layout.yaxis?.range ?? null,
    title: titleText(layout.title),
    xTitle: titleText(layout.xaxis?.title),
    yTitle: titleText(layout.yaxis?.title),
    legendTitle: titleText(layout.legend?.title),
    legend: series.filter((s) => s.showlegend).map((s) => s.name),
  };
}

const VEGA_MARKS = { line: "line", point: "point", circle: "point", square: "point", bar: "bar" };

export function vegaLiteModel(spec) {
  const markType = typeof spec.mark === "string" ? spec.mark : spec.mark?.type;
  if (!markType) return { unsupported: "Vega-Lite layered or concatenated views" };
  if (!VEGA_MARKS[markType]) return { unsupported: `Vega-Lite ${markType} marks` };
  const records = spec.data?.values ?? spec.datasets?.[spec.data?.name];
  if (!Array.isArray(records)) return { unsupported: "Vega-Lite data loaded from a URL" };
  const encoding = spec.encoding ?? {};
  const field = (channel) => encoding[channel]?.field ?? null;
  if (!field("x") || !field("y")) return { unsupported: "Vega-Lite charts without x and y fields" };
  const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const kinds = { nominal: "nominal", ordinal: "nominal", quantitative: "quantitative", temporal: "temporal" };
  const datatypes = Object.fromEntries(columns.map((c) => [c, kinds[encoding.x?.field === c ? encoding.x.type : encoding.y?.field === c ? encoding.y.type : "nominal"] ?? "nominal"]));
  const value = { columns, data: records.map((r) => columns.map((c) => r[c] ?? null)), datatypes, mark: VEGA_MARKS[markType] };
  const titleOf = (channel) => encoding[channel]?.title ?? encoding[channel]?.axis?.title ?? null;
  return nativeModel(value, {
    x: field("x"),
    y: field("y"),
    color: field("color"),
    y_aggregate: encoding.y?.aggregate ?? (datatypes[field("x")] === "nominal" ? "sum" : null),
    title: titleText(spec.title),
    x_title: titleOf("x"),
    y_title: titleOf("y"),
  });
}
