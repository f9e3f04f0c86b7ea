// Layout blocks: Row, Column, Group, Form, Tabs/Tab and Accordion (Sidebar, Draggable and
// Walkthrough/Step in their own modules). Each returns
// {element, slot, attach?(children)}: children's elements go into `slot`.

import { applyHeights, el } from "./components/common.js";
import { draggable } from "./draggable.js";
import { sidebar } from "./sidebar.js";
import { walkthrough, walkthroughstep } from "./walkthrough.js";

function row(props) {
  const element = el("div", { class: `webui-row${props.equal_height ? " webui-equal-height" : ""}` });
  applyHeights(element, props); // height / min_height / max_height: the row scrolls when taller
  return { element, slot: element, update: (changed) => applyHeights(element, { ...props, ...changed }) };
}

function column(props) {
  const element = el("div", { class: "webui-column" });
  element.style.flexGrow = props.scale ?? 1;
  element.style.minWidth = `min(${props.min_width ?? 320}px, 100%)`;
  return { element, slot: element };
}

function group() {
  const element = el("div", { class: "webui-group" });
  return { element, slot: element };
}

function form() {
  const element = el("div", { class: "webui-form" });
  return { element, slot: element };
}

// Opening and closing fire Gradio's `expand` and `collapse` on the Accordion's view.
function accordion(props, view) {
  const summary = el("summary", { text: props.label ?? "" });
  const slot = el("div", { class: "webui-accordion-body" });
  const element = el("details", { class: "webui-accordion", open: props.open !== false }, summary, slot);
  element.addEventListener("toggle", () => view?.emit(element.open ? "expand" : "collapse"));
  return {
    element,
    slot,
    update(changed) {
      if ("open" in changed) element.open = changed.open;
      if ("label" in changed) summary.textContent = changed.label ?? "";
    },
  };
}

// A tab's panel; Tabs builds the buttons from its tabs' labels once they are attached.
// Unless `render_children`, its blocks leave the page until the tab is first shown (Gradio
// mounts them then): they wait in `unshown`, still updated by events meanwhile.
function tabitem(props) {
  const element = el("div", { class: "webui-tab-panel", role: "tabpanel" });
  return { element, slot: element, label: props.label ?? "", unshown: null, renderChildren: props.render_children === true };
}

function holdUnshown(layout) {
  if (layout.renderChildren || layout.unshown) return;
  layout.unshown = document.createDocumentFragment();
  layout.unshown.append(...layout.element.childNodes);
}

function showHeld(layout) {
  if (!layout.unshown) return;
  layout.element.append(layout.unshown);
  layout.unshown = null;
  layout.renderChildren = true; // once shown, a tab's blocks stay
}

function tabs(props) {
  const bar = el("div", { class: "webui-tab-bar", role: "tablist" });
  const slot = el("div", { class: "webui-tab-panels" });
  const element = el("div", { class: "webui-tabs" }, bar, slot);
  let views = [];
  const select = (index) => {
    views.forEach((view, i) => {
      if (i === index) showHeld(view.layout);
      view.layout.element.hidden = i !== index;
      bar.children[i]?.setAttribute("aria-selected", String(i === index));
    });
  };
  return {
    element,
    slot,
    // `children` are the tab views, in order.
    attach(children) {
      views = children.filter((view) => view.type === "tabitem");
      bar.replaceChildren(
        ...views.map((view, i) => {
          const tab = el("button", { type: "button", role: "tab", class: "webui-tab", text: view.layout.label });
          tab.disabled = view.props.interactive === false;
          if (view.props.scale != null) tab.style.flexGrow = String(view.props.scale); // relative width
          tab.addEventListener("click", () => {
            select(i);
            view.emit("select", { index: i, value: view.layout.label, selected: true });
          });
          return tab;
        }),
      );
      const first = Math.max(0, views.findIndex((view) => view.props.id === props.selected));
      views.forEach((view, i) => i !== first && holdUnshown(view.layout));
      select(first);
    },
    // An event returning gr.Tabs(selected=id) shows that tab.
    update(changed) {
      if (!("selected" in changed)) return;
      const index = views.findIndex((view) => view.props.id === changed.selected);
      if (index >= 0) select(index);
    },
  };
}

export const layouts = {
  accordion,
  column,
  draggable,
  form,
  group,
  row,
  sidebar,
  tabitem,
  tabs,
  walkthrough,
  walkthroughstep,
  blocks: group,
};
