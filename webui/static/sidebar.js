// Sidebar: a collapsible panel at the left or right edge. Its toggle does not fire Gradio's
// `expand`/`collapse` events: layout blocks get no event context here.

import { el } from "./components/common.js";

export function sidebar(props) {
  const toggle = el("button", { type: "button", class: "webui-sidebar-toggle", "aria-label": "Toggle sidebar", text: "☰" });
  const slot = el("div", { class: "webui-sidebar-body" });
  const element = el("aside", { class: `webui-sidebar webui-sidebar-${props.position === "right" ? "right" : "left"}` }, toggle, slot);
  const width = typeof props.width === "number" ? `${props.width}px` : (props.width ?? "320px");
  const setOpen = (open) => {
    element.classList.toggle("webui-sidebar-open", open);
    slot.hidden = !open;
    element.style.width = open ? width : "";
  };
  toggle.addEventListener("click", () => {
    setOpen(!element.classList.contains("webui-sidebar-open"));
  });
  setOpen(props.open !== false);
  return {
    element,
    slot,
    update(changed) {
      if ("open" in changed) setOpen(changed.open !== false);
    },
  };
}
