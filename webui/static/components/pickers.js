// ColorPicker (a native colour input, value "#rrggbb") and DateTime (text in Gradio's
// "YYYY-MM-DD HH:MM:SS" format, or "now - 5m", which the server parses).

import { el, infoLine, labeled } from "./common.js";

export function colorpicker(props, ctx) {
  const input = el("input", { type: "color", class: "webui-colorpicker" });
  input.value = props.value ?? "#000000";
  input.disabled = !props.interactive;
  input.addEventListener("input", () => ctx.emit("input"));
  input.addEventListener("change", () => {
    ctx.emit("change");
    ctx.emit("submit");
  });
  input.addEventListener("focus", () => ctx.emit("focus"));
  input.addEventListener("blur", () => ctx.emit("blur"));
  const element = labeled(props, infoLine(props), input);
  return {
    element,
    getValue: () => input.value,
    setValue: (value) => (input.value = value ?? "#000000"),
    update(changed) {
      if ("interactive" in changed) input.disabled = !changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}

export function datetime(props, ctx) {
  const input = el("input", { type: "text", class: "webui-datetime" });
  input.placeholder = props.include_time === false ? "YYYY-MM-DD" : "YYYY-MM-DD HH:MM:SS";
  input.value = props.value ?? "";
  input.readOnly = !props.interactive;
  input.addEventListener("input", () => ctx.emit("input"));
  input.addEventListener("change", () => ctx.emit("change"));
  input.addEventListener("keydown", (event) => event.key === "Enter" && ctx.emit("submit"));
  const element = labeled(props, infoLine(props), input);
  return {
    element,
    getValue: () => (input.value === "" ? null : input.value),
    setValue: (value) => (input.value = value ?? ""),
    update(changed) {
      if ("interactive" in changed) input.readOnly = !changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}
