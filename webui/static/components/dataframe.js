// Dataframe: a table of {headers, data, metadata}; metadata's display_value and styling (a
// pandas Styler's) give a cell's text and CSS. Click a header to sort (ascending, then
// descending), type in the search box (show_search) to hide rows, double-click a cell to edit
// it. Sorting and filtering change only the view; edits change the value the next event sends.
// Gradio's look options: column_widths, wrap, max_chars (a click on a cut cell shows it all),
// show_row_numbers, static_columns (not editable), max_height, buttons (copy, fullscreen).

import { applyHeights, copyButton, el, fieldset, hasButton } from "./common.js";

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a == null) return b == null ? 0 : -1;
  if (b == null) return 1;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

// An edited cell keeps its column's kind: numbers stay numbers, booleans stay booleans.
function parseCell(text, previous, datatype) {
  const kind = typeof previous === "number" || datatype === "number" ? "number" : typeof previous === "boolean" || datatype === "bool" ? "bool" : "str";
  if (kind === "number" && text.trim() !== "" && Number.isFinite(Number(text))) return Number(text);
  if (kind === "bool" && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === "true";
  return text;
}

function shownText(cell) {
  return cell == null ? "" : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
}

export function dataframe(props, ctx) {
  let value = structuredClone(props.value ?? { headers: props.headers ?? [], data: [], metadata: null });
  let interactive = props.interactive;
  const view = { column: null, descending: false, filter: "" };
  const searching = props.show_search === "search" || props.show_search === "filter";
  const filter = searching ? el("input", { type: "search", class: "webui-dataframe-filter", placeholder: "Search…", "aria-label": "Search rows" }) : null;
  const table = el("table", { class: `webui-dataframe${props.wrap ? " webui-dataframe-wrap" : ""}` });
  const scroller = el("div", { class: "webui-dataframe-scroll" }, table);
  applyHeights(scroller, { max_height: props.max_height ?? 500 });
  const staticColumns = new Set(props.static_columns ?? []);
  const widths = (props.column_widths ?? []).map((w) => (typeof w === "number" ? `${w}px` : String(w)));
  const revealed = new Set(); // "row,col" of cut cells the user clicked open
  const cut = (text, row, col) => {
    const limit = props.max_chars;
    return limit != null && text.length > limit && !revealed.has(`${row},${col}`) ? `${text.slice(0, limit)}…` : text;
  };

  const datatypeOf = (col) => (Array.isArray(props.datatype) ? props.datatype[col] : props.datatype);

  const visibleRows = () => {
    const needle = view.filter.toLowerCase();
    let rows = value.data.map((row, index) => index);
    if (needle) rows = rows.filter((i) => value.data[i].some((cell) => shownText(cell).toLowerCase().includes(needle)));
    if (view.column != null) {
      const c = view.column;
      rows.sort((a, b) => compare(value.data[a][c], value.data[b][c]) * (view.descending ? -1 : 1));
    }
    return rows;
  };

  const edit = (td, row, col) => {
    if (!interactive || staticColumns.has(col) || td.querySelector("input")) return;
    const previous = value.data[row][col];
    const input = el("input", { type: "text", class: "webui-cell-editor" });
    input.value = shownText(previous);
    let done = false;
    const finish = (commit) => {
      if (done) return;
      done = true;
      if (commit && input.value !== shownText(previous)) {
        value.data[row][col] = parseCell(input.value, previous, datatypeOf(col));
        if (value.metadata?.display_value?.[row]) value.metadata.display_value[row][col] = null;
        draw();
        ctx.emit("input");
        ctx.emit("change");
        ctx.emit("edit", { index: [row, col], value: value.data[row][col], previous_value: previous });
      } else draw();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      else if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    td.replaceChildren(input);
    input.focus();
    input.select();
  };

  const draw = () => {
    const head = el("tr");
    if (props.show_row_numbers) head.append(el("th", { class: "webui-row-number" }, ""));
    (value.headers ?? []).forEach((name, col) => {
      const mark = view.column === col ? (view.descending ? " ▼" : " ▲") : "";
      const th = el("th", { "data-col": col, "aria-sort": view.column === col ? (view.descending ? "descending" : "ascending") : "none", title: "Sort" }, `${name}${mark}`);
      if (widths[col]) th.style.width = widths[col];
      th.addEventListener("click", () => {
        view.descending = view.column === col ? !view.descending : false;
        view.column = col;
        draw();
      });
      head.append(th);
    });
    const body = visibleRows().map((row) => {
      const tr = el("tr", { "data-row": row });
      if (props.show_row_numbers) tr.append(el("td", { class: "webui-row-number" }, String(row + 1)));
      value.data[row].forEach((cell, col) => {
        // A Styler's table: each cell's formatted text and CSS (the app's own) in metadata.
        const shown = value.metadata?.display_value?.[row]?.[col];
        const full = shown ?? shownText(cell);
        const td = el("td", { "data-row": row, "data-col": col }, cut(full, row, col));
        const css = value.metadata?.styling?.[row]?.[col];
        if (css) td.style.cssText = css;
        if (widths[col]) td.style.width = widths[col];
        td.addEventListener("dblclick", () => edit(td, row, col));
        // A click selects the cell: SelectData with [row, col], the cell, its row and column.
        td.addEventListener("click", () => {
          if (td.textContent !== full && !td.querySelector("input")) {
            revealed.add(`${row},${col}`);
            td.textContent = full;
          }
          ctx.emit("select", {
            index: [row, col],
            value: value.data[row][col],
            row_value: value.data[row],
            col_value: value.data.map((r) => r[col]),
            selected: true,
          });
        });
        tr.append(td);
      });
      return tr;
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  };

  filter?.addEventListener("input", () => {
    view.filter = filter.value;
    draw();
  });
  draw();
  // Copy puts the table on the clipboard as tab-separated text, headers first.
  const tsv = () => [value.headers ?? [], ...value.data].map((row) => row.map(shownText).join("\t")).join("\n");
  const fullscreen = () => (document.fullscreenElement ? document.exitFullscreen() : element.requestFullscreen?.());
  const tools = el(
    "div",
    { class: "webui-dataframe-tools" },
    filter,
    hasButton(props, "copy", ["fullscreen", "copy"]) ? copyButton(ctx, tsv, "Copy table") : null,
    hasButton(props, "fullscreen", ["fullscreen", "copy"])
      ? el("button", { type: "button", class: "webui-fullscreen", title: "Fullscreen", text: "⛶", onclick: fullscreen })
      : null,
  );
  const element = fieldset(props, tools, scroller);
  return {
    element,
    getValue: () => structuredClone(value),
    setValue(next) {
      value = structuredClone(next ?? { headers: value.headers, data: [], metadata: null });
      value.data = value.data ?? [];
      draw();
    },
    update(changed) {
      if ("interactive" in changed) interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      draw();
    },
  };
}
