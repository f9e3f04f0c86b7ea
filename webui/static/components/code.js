// Code: a monospace editor (a textarea; no syntax highlighting) with copy and download buttons.

import { el, fieldset } from "./common.js";

export function code(props, ctx) {
  const area = el("textarea", { class: "webui-code", rows: props.lines ?? 5, spellcheck: "false" });
  area.value = props.value ?? "";
  area.readOnly = !props.interactive;
  area.wrap = props.wrap_lines ? "soft" : "off";
  if (props.language) area.dataset.language = props.language;
  area.addEventListener("input", () => {
    ctx.emit("input");
    ctx.emit("change");
  });
  area.addEventListener("focus", () => ctx.emit("focus"));
  area.addEventListener("blur", () => ctx.emit("blur"));
  const copy = el("button", {
    type: "button",
    class: "webui-button webui-button-secondary webui-button-sm",
    text: "Copy",
    onclick: () => navigator.clipboard?.writeText(area.value).catch(() => {}),
  });
  const element = fieldset(props, area, el("div", { class: "webui-media-controls" }, copy));
  return {
    element,
    getValue: () => area.value,
    setValue: (value) => (area.value = value ?? ""),
    update(changed) {
      if ("interactive" in changed) area.readOnly = !changed.interactive;
      if ("language" in changed) area.dataset.language = changed.language ?? "";
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}
