// One SVG chart drawer for every plot the page draws (native plots, plotly and Vega-Lite figures).
// It takes a chart model:
//   { xKind: "quantitative" | "temporal" | "nominal", categories: [x values, in order],
//     series: [{ name, color, mark: "line" | "point" | "bar", points: [{ x, y, y0?, x1?, tip? }] }],
//     bars: "stacked" | "grouped", xDomain: [lo, hi], yDomain: [lo, hi] (null ends: from data),
//     title, xTitle, yTitle, legendTitle, legend: [series names shown], caption,
//     xAngle, yAngle, xFormat, yFormat (d3-format strings), xLabels: true | false, height }
// Bars carry y0 (their base) when stacked and x1 (their end) when binned.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const PAD = { left: 64, right: 16, top: 16, bottom: 48 };
// Vega's tableau10, the colours Gradio's native plots use when no color_map names a series.
export const PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];

export function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value != null) node.setAttribute(key, value);
  if (text != null) node.textContent = text;
  return node;
}

// d3-format's specifier ([[fill]align][sign][$][0][width][,][.precision][~][type]) for the
// types charts use: f e g r s % p d (and none). Returns null for a specifier it cannot read.
export function numberFormat(spec) {
  const m = /^(?:(.)?([<>=^]))?([+\-( ])?(\$)?(0)?(\d+)?(,)?(?:\.(\d+))?(~)?([efgrs%pd])?$/.exec(spec ?? "");
  if (!m) return null;
  const [, fill = " ", align = ">", sign = "-", currency, zero, width, comma, precision, trim, type] = m;
  const digits = precision == null ? null : Number(precision);
  return (value) => {
    let n = Number(value);
    if (!Number.isFinite(n)) return String(value);
    const negative = n < 0 || Object.is(n, -0);
    n = Math.abs(n);
    let suffix = "";
    let text;
    if (type === "%" || type === "p") [n, suffix] = [n * 100, "%"];
    if (type === "f" || type === "%") text = n.toFixed(digits ?? 6);
    else if (type === "e") text = n.toExponential(digits ?? 6).replace(/e([+-])(\d)$/, "e$1$2");
    else if (type === "d") text = Math.round(n).toString();
    else if (type === "s") {
      const exponent = n === 0 ? 0 : Math.max(-8, Math.min(8, Math.floor(Math.log10(n) / 3))) * 3;
      text = Number((n / 10 ** exponent).toPrecision(digits ?? 6)).toString();
      suffix = ["y", "z", "a", "f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y"][exponent / 3 + 8];
      if (!trim && digits != null) text = (n / 10 ** exponent).toPrecision(digits);
    } else if (type === "g" || type === "r" || type === "p") text = n.toPrecision(digits ?? 6);
    else text = digits == null ? String(Number(n.toPrecision(12))) : Number(n.toPrecision(digits)).toString();
    if (trim && text.includes(".") && !text.includes("e")) text = text.replace(/\.?0+$/, "");
    if (comma) text = text.replace(/^(\d+)/, (whole) => whole.replace(/\B(?=(\d{3})+$)/g, ","));
    const signText = negative && n !== 0 ? (sign === "(" ? "(" : "−") : sign === "+" ? "+" : sign === " " ? " " : "";
    let body = `${currency ? "$" : ""}${text}${suffix}${negative && sign === "(" && n !== 0 ? ")" : ""}`;
    const size = Number(width ?? 0);
    if (zero && body.length + signText.length < size) body = body.padStart(size - signText.length, "0");
    let out = signText + body;
    if (out.length < size) {
      const gap = fill.repeat(size - out.length);
      out = align === "<" ? out + gap : align === "^" ? gap.slice(0, gap.length >> 1) + out + gap.slice(gap.length >> 1) : gap + out;
    }
    return out;
  };
}

function niceStep(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const magnitude = 10 ** Math.floor(Math.log10(span / count));
  return [1, 2, 5, 10].map((f) => f * magnitude).find((s) => span / s <= count) ?? magnitude * 10;
}

function niceTicks(lo, hi, count = 5) {
  const step = niceStep(lo, hi, count);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function timeText(ms, span) {
  const iso = new Date(ms).toISOString();
  return span < 2 * 86400e3 ? iso.slice(11, 16) : iso.slice(0, 10);
}

// A linear scale over `values` (numbers); ends not fixed by `domain` are rounded out to a tick
// (`nice`, as Vega-Lite's quantitative scales).
function linear(values, domain, from, to, { zero = false, nice = false } = {}) {
  let lo = Math.min(...values, ...(zero ? [0] : []));
  let hi = Math.max(...values, ...(zero ? [0] : []));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  if (nice) {
    const step = niceStep(lo, hi);
    [lo, hi] = [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
  }
  if (domain?.[0] != null) lo = Number(domain[0]);
  if (domain?.[1] != null) hi = Number(domain[1]);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  return { lo, hi, map: (v) => from + ((v - lo) / (hi - lo)) * (to - from) };
}

function xNumber(value, kind) {
  return kind === "temporal" ? new Date(value).getTime() : Number(value);
}

function axisLabel(chart, x, y, text, angle, anchor) {
  const label = svg("text", { x, y, "text-anchor": anchor, class: "webui-tick" }, text);
  if (angle) label.setAttribute("transform", `rotate(${angle} ${x} ${y})`);
  chart.append(label);
}

export function drawChart(model) {
  const height = model.height ?? 320;
  const plotBottom = height - PAD.bottom;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "webui-plot-svg", role: "img", "aria-label": model.title ?? "chart" });
  const points = model.series.flatMap((s) => s.points);
  const nominal = model.xKind === "nominal";
  const categories = nominal ? model.categories ?? [...new Set(points.map((p) => String(p.x)))] : [];
  const band = (WIDTH - PAD.left - PAD.right) / Math.max(categories.length, 1);
  const xs = nominal ? [] : points.flatMap((p) => [xNumber(p.x, model.xKind), ...(p.x1 != null ? [xNumber(p.x1, model.xKind)] : [])]);
  const xScale = nominal
    ? { map: (v) => PAD.left + band * (categories.indexOf(String(v)) + 0.5) }
    : linear(xs, model.xDomain, PAD.left, WIDTH - PAD.right);
  const hasBars = model.series.some((s) => s.mark === "bar");
  const ys = points.flatMap((p) => [Number(p.y), ...(p.y0 != null ? [Number(p.y0)] : [])]).filter(Number.isFinite);
  const yScale = linear(ys, model.yDomain, plotBottom, PAD.top, { zero: hasBars, nice: true });
  const xFormat = numberFormat(model.xFormat) ?? ((v) => String(Number(Number(v).toPrecision(6))));
  const yFormat = numberFormat(model.yFormat) ?? ((v) => String(Number(Number(v).toPrecision(6))));

  chart.append(
    svg("line", { x1: PAD.left, y1: plotBottom, x2: WIDTH - PAD.right, y2: plotBottom, class: "webui-axis", stroke: "#9ca3af" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: plotBottom, class: "webui-axis", stroke: "#9ca3af" }),
  );
  const xAnchor = model.xAngle ? (model.xAngle > 0 ? "start" : "end") : "middle";
  if (model.xLabels !== false) {
    const xTicks = nominal
      ? categories.map((c) => [c, c])
      : niceTicks(xScale.lo, xScale.hi).map((t) => [t, model.xKind === "temporal" ? timeText(t, xScale.hi - xScale.lo) : xFormat(t)]);
    for (const [at, text] of xTicks) axisLabel(chart, xScale.map(at), plotBottom + 16, text, model.xAngle, xAnchor);
  }
  for (const t of niceTicks(yScale.lo, yScale.hi)) axisLabel(chart, PAD.left - 6, yScale.map(t) + 4, yFormat(t), model.yAngle, "end");
  if (model.xTitle) chart.append(svg("text", { x: (PAD.left + WIDTH - PAD.right) / 2, y: height - 6, "text-anchor": "middle", class: "webui-axis-title", fill: "currentColor" }, model.xTitle));
  if (model.yTitle) chart.append(svg("text", { x: 14, y: (PAD.top + plotBottom) / 2, "text-anchor": "middle", class: "webui-axis-title", fill: "currentColor", transform: `rotate(-90 14 ${(PAD.top + plotBottom) / 2})` }, model.yTitle));

  // Marks outside x_lim / y_lim are clipped to the plot area, as Vega-Lite's clip does.
  const clipId = `webui-clip-${Math.random().toString(36).slice(2)}`;
  const clip = svg("clipPath", { id: clipId });
  clip.append(svg("rect", { x: PAD.left, y: PAD.top, width: WIDTH - PAD.left - PAD.right, height: plotBottom - PAD.top }));
  const marks = svg("g", { "clip-path": `url(#${clipId})` });
  const defs = svg("defs");
  defs.append(clip);
  chart.append(defs, marks);
  const barSeries = model.series.filter((s) => s.mark === "bar");
  model.series.forEach((series) => {
    const group = svg("g", { "data-series": series.name });
    const withTip = (node, point) => {
      if (point.tip) node.append(svg("title", {}, point.tip));
      return node;
    };
    if (series.mark === "line") {
      const ordered = [...series.points].sort((a, b) => xScale.map(nominal ? a.x : xNumber(a.x, model.xKind)) - xScale.map(nominal ? b.x : xNumber(b.x, model.xKind)));
      const coords = ordered.map((p) => `${xScale.map(nominal ? p.x : xNumber(p.x, model.xKind))},${yScale.map(Number(p.y))}`);
      group.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: series.color, "stroke-width": 2 }));
      for (const p of ordered) if (p.tip) group.append(withTip(svg("circle", { cx: xScale.map(nominal ? p.x : xNumber(p.x, model.xKind)), cy: yScale.map(Number(p.y)), r: 4, fill: "transparent" }), p));
    } else if (series.mark === "bar") {
      const slot = barSeries.indexOf(series);
      for (const p of series.points) {
        let left;
        let width;
        if (nominal || p.x1 == null) {
          const full = nominal ? band * 0.8 : 12;
          width = model.bars === "grouped" ? full / barSeries.length : full;
          left = xScale.map(nominal ? p.x : xNumber(p.x, model.xKind)) - full / 2 + (model.bars === "grouped" ? slot * width : 0);
        } else {
          left = xScale.map(xNumber(p.x, model.xKind)) + 1;
          width = Math.max(xScale.map(xNumber(p.x1, model.xKind)) - left - 1, 1);
        }
        const top = yScale.map(Math.max(Number(p.y), Number(p.y0 ?? 0)));
        const bottom = yScale.map(Math.min(Number(p.y), Number(p.y0 ?? 0)));
        group.append(withTip(svg("rect", { x: left, y: top, width: Math.max(width, 1), height: Math.max(bottom - top, 0), fill: series.color }), p));
      }
    } else {
      for (const p of series.points) group.append(withTip(svg("circle", { cx: xScale.map(nominal ? p.x : xNumber(p.x, model.xKind)), cy: yScale.map(Number(p.y)), r: 3.5, fill: series.color }), p));
    }
    marks.append(group);
  });
  // For brushing (plot.js): the x value under a viewBox x, on quantitative and temporal axes.
  chart.dataset.xKind = model.xKind;
  chart.area = { left: PAD.left, right: WIDTH - PAD.right, top: PAD.top, bottom: plotBottom };
  chart.xInvert = nominal ? null : (px) => xScale.lo + ((px - PAD.left) / (WIDTH - PAD.right - PAD.left)) * (xScale.hi - xScale.lo);
  return chart;
}
