// FileExplorer: a folder tree listed by the server function `ls` (folders open on click,
// listed when first opened), with a checkbox on each entry the glob makes selectable. The
// value is the selected paths, each a list of names below root_dir; `file_count="single"`
// keeps one. Names are shown as text.

import { el, fieldset, sameValue } from "./common.js";

const key = (path) => JSON.stringify(path);

function cssSize(size) {
  return typeof size === "number" ? `${size}px` : size;
}

export function fileexplorer(props, ctx) {
  let selected = Array.isArray(props.value) ? props.value : [];
  let interactive = props.interactive !== false;
  const tree = el("ul", { class: "webui-fileexplorer-tree", role: "tree" });
  const element = fieldset(props, tree);
  for (const [prop, style] of [["height", "height"], ["max_height", "maxHeight"], ["min_height", "minHeight"]]) {
    if (props[prop] != null) tree.style[style] = cssSize(props[prop]);
  }
  const boxes = new Map(); // key(path) -> checkbox

  const syncBoxes = () => {
    const chosen = new Set(selected.map(key));
    for (const [path, box] of boxes) {
      box.checked = chosen.has(path);
      box.disabled = !interactive;
    }
  };

  const choose = (path, on) => {
    const others = selected.filter((p) => key(p) !== key(path));
    selected = on ? (props.file_count === "single" ? [path] : [...others, path]) : others;
    syncBoxes();
    ctx.emit("input");
    ctx.emit("change");
    ctx.emit("select", { index: path, value: path.join("/"), selected: on });
  };

  async function list(path, into) {
    into.replaceChildren(el("li", { class: "webui-fileexplorer-loading", text: "…" }));
    let entries;
    try {
      entries = await ctx.server("ls", path);
    } catch (error) {
      into.replaceChildren();
      ctx.error(error.message);
      return;
    }
    into.replaceChildren(...entries.map((entry) => row([...path, entry.name], entry)));
    syncBoxes();
    if (!entries.length && !path.length) into.append(el("li", { class: "webui-fileexplorer-empty", text: "No files" }));
  }

  function row(path, entry) {
    const folder = entry.type === "folder";
    const box = el("input", { type: "checkbox", class: "webui-fileexplorer-check", "aria-label": path.join("/") });
    box.hidden = !entry.valid;
    if (entry.valid) boxes.set(key(path), box);
    box.addEventListener("change", () => choose(path, box.checked));
    const name = el("span", { class: "webui-fileexplorer-name", text: entry.name });
    const line = el("div", { class: `webui-fileexplorer-entry webui-fileexplorer-${folder ? "folder" : "file"}` }, box, name);
    const item = el("li", { role: "treeitem", "data-path": path.join("/") }, line);
    if (!folder) return item;
    const children = el("ul", { class: "webui-fileexplorer-children", role: "group" });
    children.hidden = true;
    let listed = false;
    const toggle = el("button", { type: "button", class: "webui-fileexplorer-toggle", "aria-label": `Open ${entry.name}`, text: "▸" });
    const open = async () => {
      children.hidden = !children.hidden;
      toggle.textContent = children.hidden ? "▸" : "▾";
      item.setAttribute("aria-expanded", String(!children.hidden));
      if (!children.hidden && !listed) {
        listed = true;
        await list(path, children);
      }
    };
    toggle.addEventListener("click", open);
    name.addEventListener("click", open);
    line.prepend(toggle);
    item.append(children);
    return item;
  }

  const reload = () => {
    boxes.clear();
    return list([], tree);
  };
  reload();

  return {
    element,
    getValue: () => selected,
    setValue(value) {
      const next = Array.isArray(value) ? value : [];
      if (sameValue(next, selected)) return;
      selected = next;
      syncBoxes();
    },
    update(changed) {
      if ("label" in changed) element.setLabel(changed.label);
      if ("interactive" in changed) {
        interactive = changed.interactive !== false;
        syncBoxes();
      }
      if ("file_count" in changed) props.file_count = changed.file_count;
      if (["root_dir", "glob", "ignore_glob"].some((name) => name in changed)) reload();
    },
  };
}
