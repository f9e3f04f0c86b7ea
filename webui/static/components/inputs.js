// Form components: Textbox, Number, Slider, Checkbox, CheckboxGroup, Dropdown, Radio, Button,
// and the invisible State and Timer. Each `create(props, ctx)` returns a component handle.

import { choicePairs, copyButton, customButtons, el, fieldset, hasButton, infoLine, labeled } from "./common.js";
import { multiselect } from "./multiselect.js";

export function textbox(props, ctx) {
  const multi = (props.lines ?? 1) > 1 || (props.max_lines ?? 1) > 1;
  const input = multi
    ? el("textarea", { rows: props.lines ?? 1 })
    : el("input", { type: props.type === "text" || !props.type ? "text" : props.type });
  input.placeholder = props.placeholder ?? "";
  input.value = props.value ?? "";
  input.readOnly = !props.interactive;
  if (props.max_length != null) input.maxLength = props.max_length;
  if (props.rtl) input.dir = "rtl";
  if (props.text_align) input.style.textAlign = props.text_align;
  if (props.autofocus) queueMicrotask(() => input.focus());
  input.addEventListener("input", () => {
    ctx.emit("input");
    ctx.emit("change");
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (!multi || !event.shiftKey) && !event.isComposing) {
      if (multi) event.preventDefault();
      ctx.emit("submit");
    }
  });
  input.addEventListener("focus", () => ctx.emit("focus"));
  input.addEventListener("blur", () => ctx.emit("blur"));
  // Selecting text fires `select` with the range and the text, as Gradio's Textbox does.
  input.addEventListener("select", () => {
    const [start, end] = [input.selectionStart, input.selectionEnd];
    ctx.emit("select", { index: [start, end], value: input.value.slice(start, end), selected: true });
  });
  const copy = hasButton(props, "copy") ? copyButton(ctx, () => input.value) : null;
  const element = labeled(props, infoLine(props), input, toolbar(copy, ...customButtons(props, ctx)));
  return {
    element,
    getValue: () => input.value,
    setValue(value) {
      input.value = value ?? "";
      if (multi && props.autoscroll !== false) input.scrollTop = input.scrollHeight;
    },
    update(changed) {
      if ("placeholder" in changed) input.placeholder = changed.placeholder ?? "";
      if ("interactive" in changed) input.readOnly = !changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}

// A row of toolbar buttons under the control, or nothing when there are none.
function toolbar(...buttons) {
  const shown = buttons.filter(Boolean);
  return shown.length ? el("div", { class: "webui-toolbar" }, ...shown) : null;
}

export function number(props, ctx) {
  const input = el("input", { type: "number", step: props.step ?? "any", placeholder: props.placeholder });
  if (props.minimum != null) input.min = props.minimum;
  if (props.maximum != null) input.max = props.maximum;
  input.value = props.value ?? "";
  input.readOnly = !props.interactive;
  input.addEventListener("input", () => ctx.emit("input"));
  input.addEventListener("change", () => ctx.emit("change"));
  input.addEventListener("keydown", (event) => event.key === "Enter" && ctx.emit("submit"));
  input.addEventListener("focus", () => ctx.emit("focus"));
  input.addEventListener("blur", () => ctx.emit("blur"));
  const element = labeled(props, infoLine(props), input, toolbar(...customButtons(props, ctx)));
  return {
    element,
    getValue: () => (input.value === "" ? null : Number(input.value)),
    setValue: (value) => (input.value = value ?? ""),
    update(changed) {
      if ("interactive" in changed) input.readOnly = !changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}

export function slider(props, ctx) {
  const range = el("input", {
    type: "range",
    min: props.minimum ?? 0,
    max: props.maximum ?? 100,
    step: props.step ?? 1,
  });
  const shown = el("input", { type: "number", class: "webui-slider-number", step: props.step ?? 1 });
  const set = (value) => {
    range.value = value ?? props.minimum ?? 0;
    shown.value = range.value;
  };
  set(props.value);
  const enable = (on) => {
    range.disabled = !on;
    shown.disabled = !on;
  };
  enable(props.interactive);
  range.addEventListener("input", () => {
    shown.value = range.value;
    ctx.emit("input");
  });
  range.addEventListener("change", () => {
    ctx.emit("change");
    ctx.emit("release");
  });
  shown.addEventListener("change", () => {
    range.value = shown.value;
    ctx.emit("change");
  });
  const element = labeled(props, infoLine(props), el("div", { class: "webui-slider" }, range, shown));
  return {
    element,
    getValue: () => Number(range.value),
    setValue: set,
    update(changed) {
      if ("minimum" in changed) range.min = changed.minimum;
      if ("maximum" in changed) range.max = changed.maximum;
      if ("interactive" in changed) enable(changed.interactive);
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}

export function checkbox(props, ctx) {
  const input = el("input", { type: "checkbox" });
  input.checked = Boolean(props.value);
  input.disabled = !props.interactive;
  input.addEventListener("change", () => {
    ctx.emit("input");
    ctx.emit("change");
    ctx.emit("select", { index: null, value: props.label ?? null, selected: input.checked });
  });
  const caption = el("span", { text: props.label ?? "" });
  const element = el("label", { class: "webui-field webui-checkbox" }, input, caption, infoLine(props), toolbar(...customButtons(props, ctx)));
  return {
    element,
    getValue: () => input.checked,
    setValue: (value) => (input.checked = Boolean(value)),
    update(changed) {
      if ("interactive" in changed) input.disabled = !changed.interactive;
      if ("label" in changed) caption.textContent = changed.label ?? "";
    },
  };
}

// CheckboxGroup and Radio: one input per choice inside a labelled group.
function choiceGroup(props, ctx, kind) {
  const name = `webui-${kind}-${Math.random().toString(36).slice(2)}`;
  const list = el("div", { class: "webui-choices" });
  let pairs = [];
  let interactive = props.interactive;
  const draw = (choices, value) => {
    pairs = choicePairs(choices);
    const selected = kind === "checkbox" ? value ?? [] : [value];
    list.replaceChildren(
      ...pairs.map(([display, choice], i) => {
        const input = el("input", { type: kind, name, value: String(i) });
        input.checked = selected.some((v) => v === choice);
        input.disabled = !interactive;
        input.addEventListener("change", () => {
          ctx.emit("input");
          ctx.emit("change");
          ctx.emit("select", { index: i, value: choice, selected: input.checked });
        });
        return el("label", { class: "webui-choice" }, input, el("span", { text: display }));
      }),
    );
  };
  const read = () => {
    const picked = [...list.querySelectorAll("input")].filter((i) => i.checked);
    const values = picked.map((i) => pairs[Number(i.value)][1]);
    return kind === "checkbox" ? values : values[0] ?? null;
  };
  draw(props.choices, props.value);
  const element = fieldset(props, infoLine(props), list, toolbar(...customButtons(props, ctx)));
  return {
    element,
    getValue: read,
    setValue: (value) => draw(pairs, value),
    update(changed) {
      if ("interactive" in changed) interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      draw("choices" in changed ? changed.choices : pairs, read());
    },
  };
}

export const checkboxgroup = (props, ctx) => choiceGroup(props, ctx, "checkbox");
export const radio = (props, ctx) => choiceGroup(props, ctx, "radio");

export function dropdown(props, ctx) {
  if (props.multiselect) return multiselect(props, ctx);
  const custom = Boolean(props.allow_custom_value);
  const listId = `webui-list-${Math.random().toString(36).slice(2)}`;
  const control = custom ? el("input", { type: "text", list: listId }) : el("select");
  const datalist = el("datalist", { id: listId });
  let pairs = [];
  const draw = (choices, value) => {
    pairs = choicePairs(choices);
    if (custom) {
      datalist.replaceChildren(...pairs.map(([display]) => el("option", { value: display })));
      const match = pairs.find(([, v]) => v === value);
      control.value = match ? match[0] : value ?? "";
      return;
    }
    control.replaceChildren(
      ...pairs.map(([display, choice], i) => {
        const option = el("option", { value: String(i), text: display });
        option.selected = choice === value;
        return option;
      }),
    );
    if (!pairs.some(([, v]) => v === value)) control.selectedIndex = -1;
  };
  const read = () => {
    if (custom) {
      const match = pairs.find(([display]) => display === control.value);
      return match ? match[1] : control.value || null;
    }
    const option = control.selectedOptions[0];
    return option ? pairs[Number(option.value)][1] : null;
  };
  draw(props.choices, props.value);
  control.disabled = !props.interactive;
  // The text the box shows: what was typed (custom values), else the chosen option's label
  // (a <select>'s own value is the option's index, which Gradio's page never shows).
  const shown = () => (custom ? control.value ?? "" : control.selectedOptions[0]?.text ?? "");
  // Dropdown's key_up (KeyUpData): the key and the text in the box, as Gradio sends them.
  control.addEventListener("keyup", (event) => ctx.emit("key_up", { key: event.key, input_value: shown() }));
  control.addEventListener("change", () => {
    ctx.emit("input");
    ctx.emit("change");
    let index = null;
    if (custom) {
      const at = pairs.findIndex(([display]) => display === control.value);
      index = at < 0 ? null : at; // a typed value that is no choice has no index
    } else {
      const option = control.selectedOptions[control.selectedOptions.length - 1];
      index = option ? Number(option.value) : null;
    }
    const value = index === null || custom ? read() : pairs[index]?.[1];
    ctx.emit("select", { index, value, selected: true });
  });
  const element = labeled(props, infoLine(props), control, custom ? datalist : null, toolbar(...customButtons(props, ctx)));
  return {
    element,
    getValue: read,
    setValue: (value) => draw(pairs, value),
    update(changed) {
      if ("interactive" in changed) control.disabled = !changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      if ("choices" in changed) draw(changed.choices, read());
    },
  };
}

export function button(props, ctx) {
  const element = el("button", {
    type: "button",
    class: `webui-button webui-button-${props.variant ?? "secondary"} webui-button-${props.size ?? "lg"}`,
  });
  element.textContent = props.value ?? "";
  element.disabled = props.interactive === false;
  element.addEventListener("click", () => ctx.emit("click"));
  return {
    element,
    frameless: true,
    getValue: () => element.textContent,
    setValue: (value) => (element.textContent = value ?? ""),
    update(changed) {
      if ("interactive" in changed) element.disabled = changed.interactive === false;
      if ("variant" in changed) {
        element.className = `webui-button webui-button-${changed.variant} webui-button-${props.size ?? "lg"}`;
      }
    },
  };
}

// State lives on the server: the page sends null for it and never shows it.
export function state() {
  return { element: null, getValue: () => null, setValue() {} };
}

// A Timer fires `tick` every `value` seconds while active.
export function timer(props, ctx) {
  let interval = props.value ?? 1;
  let active = props.active ?? true;
  let handle = null;
  const restart = () => {
    clearInterval(handle);
    handle = active && interval > 0 ? setInterval(() => ctx.emit("tick"), interval * 1000) : null;
  };
  restart();
  return {
    element: null,
    getValue: () => interval,
    setValue(value) {
      interval = value;
      restart();
    },
    update(changed) {
      if ("active" in changed) active = changed.active;
      if ("value" in changed) interval = changed.value;
      restart();
    },
  };
}
