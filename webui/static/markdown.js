// Markdown as Gradio shows it: GitHub-flavoured Markdown (pipe tables, fenced code, autolinks)
// by the vendored `marked`, HTML inside it allowed but sanitized (sanitize.js), never escaped.

import { Marked } from "./vendor/marked.esm.js";
import { sanitizeHtml } from "./sanitize.js";

// Cells align by style: the `align` attribute computes to `-webkit-right`, not `right`.
function tablecell(token) {
  const tag = token.header ? "th" : "td";
  const style = token.align ? ` style="text-align: ${token.align}"` : "";
  return `<${tag}${style}>${this.parser.parseInline(token.tokens)}</${tag}>\n`;
}

const parsers = new Map(
  [true, false].map((breaks) => [breaks, new Marked({ gfm: true, breaks, renderer: { tablecell } })]),
);

// `source` as a sanitized fragment; `lineBreaks`: a newline inside a paragraph is a <br>, as in
// Gradio's Chatbot (its Markdown joins the lines instead).
export function renderMarkdown(source, { lineBreaks = true } = {}) {
  const html = source == null ? "" : parsers.get(Boolean(lineBreaks)).parse(String(source));
  return sanitizeHtml(html.trim()); // no newline text node after the last block
}
