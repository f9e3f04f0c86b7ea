// Display components: Markdown, JSON, Label (gr.HTML in html.js). They show a value and send it
// back as is.

import { renderMarkdown } from "../markdown.js";
import { el, fieldset } from "./common.js";

function shown(props, render, { frameless = false } = {}) {
  const body = el("div", { class: "webui-display" });
  let value = props.value ?? null;
  const element = frameless ? body : fieldset(props, body);
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

// Sanitized, as Gradio's Markdown (sanitize_html=True); a newline inside a paragraph joins the
// lines, as with Gradio's default line_breaks=False.
export const markdown = (props) =>
  shown(props, (body, value) => {
    body.classList.add("webui-prose");
    body.replaceChildren(renderMarkdown(value ?? "", { lineBreaks: false }));
  }, { frameless: true });

export const json = (props) =>
  shown(props, (body, value) => {
    body.replaceChildren(el("pre", { class: "webui-json", text: JSON.stringify(value, null, 2) }));
  });

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
