// Dropdown(multiselect=True): the picked values as chips (× takes one out) and a text field
// that filters the choices not yet picked; a click or Enter adds one, up to `max_choices`.
// With `allow_custom_value` Enter adds the typed text when no choice matches it.

import { choicePairs, el, fieldset, infoLine } from "./common.js";

export function multiselect(props, ctx) {
  let pairs = choicePairs(props.choices);
  let picked = Array.isArray(props.value) ? [...props.value] : [];
  let interactive = Boolean(props.interactive);
  let max = props.max_choices ?? null;
  const custom = Boolean(props.allow_custom_value);
  const filterable = props.filterable !== false || custom;

  const chips = el("div", { class: "webui-chips" });
  const input = el("input", { type: "text", class: "webui-chip-input", autocomplete: "off" });
  input.readOnly = !filterable;
  const list = el("ul", { class: "webui-options", role: "listbox" });
  list.hidden = true;
  const box = el("div", { class: "webui-multiselect" }, chips, input);

  const indexOf = (value) => pairs.findIndex(([, v]) => v === value);
  const displayOf = (value) => (indexOf(value) >= 0 ? pairs[indexOf(value)][0] : String(value));
  const full = () => max !== null && picked.length >= max;
  const offered = () => {
    const text = filterable ? input.value.trim().toLowerCase() : "";
    return pairs.filter(([display, v]) => !picked.includes(v) && display.toLowerCase().includes(text));
  };

  const emitPick = (value, selected) => {
    ctx.emit("input");
    ctx.emit("change");
    const index = indexOf(value);
    ctx.emit("select", { index: index >= 0 ? index : null, value, selected });
  };
  const add = (value) => {
    if (!interactive || full() || picked.includes(value)) return;
    picked.push(value);
    input.value = "";
    draw();
    emitPick(value, true);
  };
  const remove = (value) => {
    if (!interactive) return;
    picked = picked.filter((v) => v !== value);
    draw();
    emitPick(value, false);
  };

  function drawList() {
    const open = interactive && !full() && document.activeElement === input;
    list.replaceChildren(
      ...offered().map(([display, value]) =>
        el("li", { role: "option", class: "webui-option", text: display, onmousedown: (event) => {
          event.preventDefault(); // keep the focus in the text field
          add(value);
        } }),
      ),
    );
    list.hidden = !open || list.children.length === 0;
  }

  function draw() {
    chips.replaceChildren(
      ...picked.map((value) =>
        el(
          "span",
          { class: "webui-chip" },
          el("span", { text: displayOf(value) }),
          interactive
            ? el("button", { type: "button", class: "webui-chip-remove", "aria-label": `Remove ${displayOf(value)}`, text: "×", onclick: () => remove(value) })
            : null,
        ),
      ),
    );
    input.disabled = !interactive || full();
    input.placeholder = full() ? `At most ${max} choices` : "";
    drawList();
  }

  input.addEventListener("focus", () => {
    drawList();
    ctx.emit("focus");
  });
  input.addEventListener("blur", () => {
    list.hidden = true;
    ctx.emit("blur");
  });
  input.addEventListener("input", drawList);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") list.hidden = true;
    if (event.key === "Backspace" && !input.value && picked.length) remove(picked[picked.length - 1]);
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    const [first] = offered();
    const typed = input.value.trim();
    if (first && (!custom || first[0].toLowerCase() === typed.toLowerCase() || !typed)) add(first[1]);
    else if (custom && typed) add(typed);
  });
  // Dropdown's key_up (KeyUpData): the key and the text typed so far, as Gradio sends them.
  input.addEventListener("keyup", (event) => ctx.emit("key_up", { key: event.key, input_value: input.value }));

  draw();
  const element = fieldset(props, infoLine(props), box, list);
  return {
    element,
    getValue: () => [...picked],
    setValue(value) {
      picked = Array.isArray(value) ? [...value] : value == null ? [] : [value];
      draw();
    },
    update(changed) {
      if ("interactive" in changed) interactive = Boolean(changed.interactive);
      if ("label" in changed) element.setLabel(changed.label);
      if ("choices" in changed) pairs = choicePairs(changed.choices);
      if ("max_choices" in changed) max = changed.max_choices ?? null;
      draw();
    },
  };
}
