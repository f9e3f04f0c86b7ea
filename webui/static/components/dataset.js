// Dataset (what gr.Examples shows): samples as a gallery of buttons (one component) or a table
// (several), paged by samples_per_page. Clicking a sample makes its index the value and fires
// `click` and `select`. Sample values are the app's example data shown as text, or as an image
// for image samples, never as markup.

import { allowedUrl } from "../sanitize.js";
import { el } from "./common.js";

function fileName(file) {
  return file?.orig_name ?? String(file?.path ?? "").split(/[\\/]/).pop();
}

// One sample value as its component type would summarise it.
function cell(type, value, ctx) {
  if (value == null) return el("span", { class: "webui-dataset-empty" });
  if (type === "image" && typeof value === "object") {
    const src = allowedUrl(ctx.fileUrl(value), "img", "src");
    return el("img", { class: "webui-dataset-image", src, alt: fileName(value) || "image" });
  }
  if (["audio", "video", "file"].includes(type)) {
    const files = Array.isArray(value) ? value : [value];
    return el("span", { text: files.map(fileName).join(", ") });
  }
  if (type === "dataframe" && value.headers) {
    return el("span", { text: `${value.data?.length ?? 0} rows: ${value.headers.join(", ")}` });
  }
  return el("span", { text: typeof value === "string" ? value : JSON.stringify(value) });
}

export function dataset(props, ctx) {
  let selected = null;
  let page = 0;
  let state = { ...props };
  const caption = el("span", { class: "webui-label" });
  const body = el("div", { class: "webui-dataset-body" });
  const pager = el("div", { class: "webui-dataset-pages" });
  const element = el("div", { class: "webui-field webui-dataset", role: "group" }, caption, body, pager);

  const choose = (index) => {
    selected = index;
    ctx.emit("click");
    ctx.emit("select", { index, value: state.samples?.[index] ?? null, selected: true });
  };

  const draw = () => {
    caption.textContent = state.label ?? "";
    caption.hidden = state.show_label === false || !state.label;
    const samples = state.samples ?? [];
    const types = (state.components ?? []).map((c) => c?.name ?? c);
    const labels = state.sample_labels;
    const perPage = state.samples_per_page ?? 10;
    const pages = Math.max(1, Math.ceil(samples.length / perPage));
    page = Math.min(page, pages - 1);
    const first = page * perPage;
    const shown = samples.slice(first, first + perPage);
    const gallery = (state.layout ?? (types.length > 1 ? "table" : "gallery")) === "gallery";
    const content = (sample, index) =>
      labels ? [el("span", { text: labels[index] ?? "" })] : sample.map((v, i) => cell(types[i], v, ctx));
    if (gallery) {
      body.replaceChildren(
        el(
          "div",
          { class: "webui-dataset-gallery" },
          ...shown.map((sample, i) =>
            el(
              "button",
              { type: "button", class: "webui-dataset-sample", "data-index": first + i, onclick: () => choose(first + i) },
              ...content(sample, first + i),
            ),
          ),
        ),
      );
    } else {
      const headers = labels ? [] : state.headers ?? [];
      const head = headers.length ? el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { text: h })))) : null;
      const rows = shown.map((sample, i) =>
        el(
          "tr",
          {
            class: "webui-dataset-sample",
            tabindex: 0,
            "data-index": first + i,
            onclick: () => choose(first + i),
            onkeydown: (event) => event.key === "Enter" && choose(first + i),
          },
          ...content(sample, first + i).map((node) => el("td", {}, node)),
        ),
      );
      body.replaceChildren(el("table", { class: "webui-dataset-table" }, head, el("tbody", {}, ...rows)));
    }
    pager.replaceChildren(
      ...(pages > 1
        ? Array.from({ length: pages }, (_, p) =>
            el("button", {
              type: "button",
              class: p === page ? "webui-dataset-page webui-dataset-page-current" : "webui-dataset-page",
              text: String(p + 1),
              onclick: () => {
                page = p;
                draw();
              },
            }),
          )
        : []),
    );
  };
  draw();
  return {
    element,
    getValue: () => selected,
    setValue(value) {
      selected = value ?? null;
    },
    update(changed) {
      state = { ...state, ...changed };
      draw();
    },
  };
}
