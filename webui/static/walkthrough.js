// Walkthrough and Step: a numbered bar of step labels and one step's panel at a time. The
// shown step is the one whose id is `selected`; a click on an interactive step's label shows
// it and fires the Step's `select` and the Walkthrough's `change` and `select`.

import { el } from "./components/common.js";

export function walkthroughstep(props) {
  const element = el("div", { class: "webui-step-panel", role: "tabpanel" });
  return { element, slot: element, label: props.label ?? "" };
}

export function walkthrough(props, view) {
  const bar = el("ol", { class: "webui-step-bar", role: "tablist" });
  const slot = el("div", { class: "webui-step-panels" });
  const element = el("div", { class: "webui-walkthrough" }, bar, slot);
  let steps = [];
  let current = -1;
  const show = (index) => {
    current = index;
    steps.forEach((step, i) => {
      step.layout.element.hidden = i !== index;
      const item = bar.children[i];
      item.classList.toggle("webui-step-current", i === index);
      item.classList.toggle("webui-step-done", i < index);
      item.querySelector("button").setAttribute("aria-selected", String(i === index));
    });
  };
  const indexOf = (id) => steps.findIndex((step) => step.props.id === id);
  return {
    element,
    slot,
    // `children` are the step views, in order.
    attach(children) {
      steps = children.filter((child) => child.type === "walkthroughstep");
      bar.replaceChildren(
        ...steps.map((step, i) => {
          const button = el("button", { type: "button", role: "tab", class: "webui-step-button" },
            el("span", { class: "webui-step-number", text: String(i + 1) }),
            el("span", { class: "webui-step-label", text: step.layout.label }));
          if (step.props.elem_id) button.id = `${step.props.elem_id}-button`;
          button.disabled = step.props.interactive === false;
          button.addEventListener("click", () => {
            if (i === current) return;
            show(i);
            const data = { index: i, value: step.layout.label, selected: true };
            step.emit("select", data);
            view?.emit("change");
            view?.emit("select", data);
          });
          const item = el("li", { class: "webui-step" }, button);
          item.hidden = step.props.visible === false;
          return item;
        }),
      );
      show(Math.max(0, indexOf(props.selected)));
    },
    // An event returning gr.Walkthrough(selected=id) moves to that step.
    update(changed) {
      if (!("selected" in changed)) return;
      const index = indexOf(changed.selected);
      if (index >= 0 && index !== current) {
        show(index);
        view?.emit("change");
      }
    },
  };
}
