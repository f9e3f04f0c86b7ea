// Display components: Markdown, JSON, Label (gr.HTML in html.js). They show a value and send it
// back as is.

import { renderMarkdown } from "../markdown.js";
import { applyHeights, copyButton, customButtons, el, fieldset, hasButton } from "./common.js";

// `copyText(value)`, when given, is what the block's Copy button copies (Gradio's buttons).
function shown(props, render, { frameless = false, ctx = null, copyText = null } = {}) {
  const body = el("div", { class: "webui-display" });
  let value = props.value ?? null;
  applyHeights(body, props);
  const copy = copyText ? copyButton(ctx, () => copyText(value)) : null;
  const tools = [copy, ...(ctx ? customButtons(props, ctx) : [])].filter(Boolean);
  const inner = tools.length ? el("div", { class: "webui-copyable" }, el("div", { class: "webui-toolbar" }, ...tools), body) : body;
  const element = frameless ? inner : fieldset(props, inner);
  render(body, value);
  return {
    element,
    frameless,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      render(body, value);
    },
    update(changed) {
      if ("label" in changed && element.setLabel) element.setLabel(changed.label);
    },
  };
}

// Gradio's header_links: each heading gets an id from its text and a link to itself.
function linkHeadings(body) {
  const used = new Set();
  for (const heading of body.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const base = heading.textContent.trim().toLowerCase().replace(/[^\w\- ]+/g, "").replace(/\s+/g, "-") || "section";
    let id = base;
    for (let n = 1; used.has(id); n += 1) id = `${base}-${n}`;
    used.add(id);
    heading.id = id;
    heading.append(el("a", { class: "webui-header-link", href: `#${id}`, "aria-label": "Link to this heading", text: "#" }));
  }
}

// Sanitized, as Gradio's Markdown (sanitize_html=True); a newline inside a paragraph joins the
// lines, as with Gradio's default line_breaks=False.
export const markdown = (props, ctx) =>
  shown(props, (body, value) => {
    body.classList.add("webui-prose");
    body.replaceChildren(renderMarkdown(value ?? "", { lineBreaks: false }));
    if (props.header_links) linkHeadings(body);
  }, { frameless: true, ctx, copyText: hasButton(props, "copy") ? (value) => value ?? "" : null });

// Gradio's show_indices: list items are shown with their index, as `0: item`.
function jsonText(value, indices, depth = 0) {
  if (!indices || value === null || typeof value !== "object") return JSON.stringify(value, null, 2)?.replace(/\n/g, `\n${"  ".repeat(depth)}`) ?? "null";
  const pad = "  ".repeat(depth + 1);
  const close = "  ".repeat(depth);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((item, i) => `${pad}${i}: ${jsonText(item, indices, depth + 1)}`).join(",\n")}\n${close}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${jsonText(v, indices, depth + 1)}`).join(",\n")}\n${close}}`;
}

// JSON shows a Copy button unless buttons= leaves it out, as Gradio's.
export const json = (props, ctx) =>
  shown(props, (body, value) => {
    body.replaceChildren(el("pre", { class: "webui-json", text: jsonText(value, props.show_indices) }));
  }, { ctx, copyText: hasButton(props, "copy", ["copy"]) ? (value) => JSON.stringify(value, null, 2) : null });

export const label = (props) =>
  shown(props, (body, value) => {
    const rows = (value?.confidences ?? [])
      .slice(0, props.num_top_classes ?? undefined)
      .map(({ label: name, confidence }) => {
        const bar = el("div", { class: "webui-confidence-bar" });
        bar.style.width = `${Math.round((confidence ?? 0) * 100)}%`;
        return el(
          "div",
          { class: "webui-confidence" },
          el("span", { text: String(name) }),
          el("span", { class: "webui-confidence-value", text: `${Math.round((confidence ?? 0) * 100)}%` }),
          bar,
        );
      });
    const heading = value?.label != null ? el("h2", { class: "webui-label-value", text: String(value.label) }) : null;
    body.replaceChildren(...[heading, ...rows].filter(Boolean));
  });
