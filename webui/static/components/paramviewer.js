// ParamViewer: one row per parameter (name, type, default; the description opens below it).
// Types and defaults are text; a description is sanitized Markdown. `linkify` words become
// links to `#h-<word>`; `anchor_links` gives each row an id and a link to it.

import { renderMarkdown } from "../markdown.js";
import { el } from "./common.js";

function anchorPrefix(anchorLinks) {
  if (anchorLinks === true) return "param-";
  return typeof anchorLinks === "string" && anchorLinks ? `${anchorLinks}-param-` : null;
}

// `text` with every linkify word as a link; text nodes only, so nothing is parsed as markup.
function linkified(text, words) {
  const wanted = (words ?? []).filter((word) => word);
  const fragment = document.createDocumentFragment();
  let rest = String(text ?? "");
  while (rest) {
    let first = null;
    for (const word of wanted) {
      const at = rest.indexOf(word);
      if (at >= 0 && (first === null || at < first.at)) first = { at, word };
    }
    if (first === null) {
      fragment.append(rest);
      break;
    }
    fragment.append(rest.slice(0, first.at));
    fragment.append(el("a", { href: `#h-${first.word.toLowerCase()}`, text: first.word }));
    rest = rest.slice(first.at + first.word.length);
  }
  return fragment;
}

// Links inside a rendered description get the same treatment, on its text nodes.
function linkifyTree(node, words) {
  if (!(words ?? []).length) return node;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement?.closest("a")) texts.push(walker.currentNode);
  }
  for (const text of texts) text.replaceWith(linkified(text.textContent, words));
  return node;
}

function parameterRow(name, parameter, props) {
  const prefix = anchorPrefix(props.anchor_links);
  const summary = el(
    "summary",
    { class: "webui-param-summary" },
    el("code", { class: "webui-param-name", text: name }),
    parameter.type != null
      ? el("code", { class: "webui-param-type", "data-language": props.language ?? "python" }, ": ", linkified(parameter.type, props.linkify))
      : null,
  );
  if (prefix) {
    summary.append(el("a", { class: "webui-param-anchor", href: `#${prefix}${name}`, "aria-label": `Link to ${name}`, text: "#" }));
  }
  const body = el("div", { class: "webui-param-body" });
  if (parameter.default != null) {
    body.append(el("div", { class: "webui-param-default" }, "default ", el("code", { text: `= ${parameter.default}` })));
  }
  if (parameter.description) {
    const prose = el("div", { class: "webui-prose webui-param-description" });
    prose.append(linkifyTree(renderMarkdown(String(parameter.description), { lineBreaks: false }), props.linkify));
    body.append(prose);
  }
  return el("details", { class: "webui-param", id: prefix ? `${prefix}${name}` : null }, summary, body);
}

export function paramviewer(props) {
  let value = props.value ?? {};
  const list = el("div", { class: "webui-param-list" });
  const toggle = el("button", { type: "button", class: "webui-param-toggle", text: "Expand all" });
  const header = el("div", { class: "webui-param-header" }, el("span", { text: props.header ?? "" }), toggle);
  header.hidden = props.header == null;
  const element = el("div", { class: "webui-paramviewer" }, header, list);
  if (props.max_height != null) {
    list.style.maxHeight = typeof props.max_height === "number" ? `${props.max_height}px` : props.max_height;
    list.style.overflowY = "auto";
  }
  const rows = () => [...list.querySelectorAll(".webui-param")];
  const syncToggle = () => {
    toggle.textContent = rows().length && rows().every((row) => row.open) ? "Collapse all" : "Expand all";
  };
  toggle.addEventListener("click", () => {
    const open = !rows().every((row) => row.open);
    for (const row of rows()) row.open = open;
    syncToggle();
  });
  const render = () => {
    list.replaceChildren(...Object.entries(value ?? {}).map(([name, parameter]) => parameterRow(name, parameter ?? {}, props)));
    for (const row of rows()) row.addEventListener("toggle", syncToggle);
    syncToggle();
  };
  render();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? {};
      render();
    },
    update(changed) {
      Object.assign(props, changed);
      if ("header" in changed) {
        header.firstChild.textContent = changed.header ?? "";
        header.hidden = changed.header == null;
      }
      render();
    },
  };
}
