// HighlightedText: tokens as spans coloured by category (color_map, else a palette) or by
// confidence (a number: red for positive, blue for negative), an optional legend; clicking a
// token fires `select` with its index and [token, category].

import { el, fieldset } from "./common.js";

const PALETTE = ["#fde68a", "#bbf7d0", "#bfdbfe", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc"];

function colorFor(category, props, seen) {
  if (typeof category === "number") {
    const alpha = Math.min(Math.abs(category), 1).toFixed(2);
    return category >= 0 ? `rgba(239, 68, 68, ${alpha})` : `rgba(59, 130, 246, ${alpha})`;
  }
  if (props.color_map?.[category]) return props.color_map[category];
  if (!seen.has(category)) seen.set(category, PALETTE[seen.size % PALETTE.length]);
  return seen.get(category);
}

export function highlightedtext(props, ctx) {
  let value = props.value ?? null;
  const text = el("div", { class: "webui-highlighted" });
  const legend = el("div", { class: "webui-highlighted-legend" });
  const draw = () => {
    const seen = new Map();
    const tokens = value ?? [];
    text.replaceChildren(
      ...tokens.map((item, index) => {
        const category = item.class_or_confidence;
        const span = el("span", { class: "webui-token", text: item.token });
        if (category != null) {
          span.style.background = colorFor(category, props, seen);
          if (props.show_inline_category !== false && typeof category === "string") {
            span.append(el("span", { class: "webui-token-category", text: category }));
          }
        }
        span.addEventListener("click", () =>
          ctx.emit("select", { index, value: [item.token, category], selected: true }),
        );
        return span;
      }),
    );
    legend.hidden = !props.show_legend;
    legend.replaceChildren(
      ...[...seen].map(([name, color]) => {
        const chip = el("span", { class: "webui-token", text: name });
        chip.style.background = color;
        return chip;
      }),
    );
  };
  const element = fieldset(props, legend, text);
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      if ("label" in changed) element.setLabel(changed.label);
      draw();
    },
  };
}
