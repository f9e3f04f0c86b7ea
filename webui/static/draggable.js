// Draggable: its children (each one block, a child layout moving as a whole) reordered by
// dragging one onto another. The order lives in the page only; no event is fired.

import { el } from "./components/common.js";

export function draggable(props) {
  const orientation = props.orientation === "row" ? "row" : "column";
  const element = el("div", { class: `webui-draggable webui-draggable-${orientation}` });
  let dragged = null;
  const itemOf = (target) => {
    let node = target instanceof Element ? target : target?.parentElement;
    while (node && node.parentElement !== element) node = node.parentElement;
    return node;
  };
  element.addEventListener("dragstart", (event) => {
    dragged = itemOf(event.target);
    if (!dragged) return;
    dragged.classList.add("webui-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.blockId ?? "");
  });
  element.addEventListener("dragover", (event) => {
    const over = itemOf(event.target);
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = orientation === "row"
      ? event.clientX > box.left + box.width / 2
      : event.clientY > box.top + box.height / 2;
    over.parentElement.insertBefore(dragged, after ? over.nextSibling : over);
  });
  element.addEventListener("drop", (event) => event.preventDefault());
  element.addEventListener("dragend", () => {
    dragged?.classList.remove("webui-dragging");
    dragged = null;
  });
  return {
    element,
    slot: element,
    attach(children) {
      for (const child of children) {
        if (!child.frame) continue;
        child.frame.draggable = true;
        child.frame.classList.add("webui-draggable-item");
      }
    },
  };
}
