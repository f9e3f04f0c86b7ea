// MultimodalTextbox: a text field with attached files ({text, files: [FileData]}); Enter
// (without Shift) or the submit button fires `submit`; attachments upload at once.

import { el, fieldset, onPick } from "./common.js";

export function multimodaltextbox(props, ctx) {
  let files = props.value?.files ?? [];
  const multiline = (props.lines ?? 1) > 1;
  const input = multiline ? el("textarea", { rows: props.lines }) : el("input", { type: "text" });
  input.value = props.value?.text ?? "";
  input.placeholder = props.placeholder ?? "";
  const list = el("div", { class: "webui-multimodal-files" });
  const picker = el("input", {
    type: "file",
    class: "webui-upload",
    multiple: props.file_count !== "single",
    accept: (props.file_types ?? []).join(",") || null,
  });
  const submit = el("button", { type: "button", class: "webui-button webui-button-primary webui-button-sm", text: typeof props.submit_btn === "string" ? props.submit_btn : "Send" });
  submit.hidden = props.submit_btn === false || props.submit_btn == null;
  const drawFiles = () => list.replaceChildren(...files.map((file) => el("span", { class: "webui-file-chip", text: file.orig_name ?? "file" })));
  const setEnabled = (on) => {
    input.readOnly = !on;
    picker.disabled = !on;
    submit.disabled = !on;
  };
  input.addEventListener("input", () => {
    ctx.emit("input");
    ctx.emit("change");
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ctx.emit("submit");
    }
  });
  input.addEventListener("focus", () => ctx.emit("focus"));
  input.addEventListener("blur", () => ctx.emit("blur"));
  submit.addEventListener("click", () => ctx.emit("submit"));
  onPick(picker, ctx, (uploaded) => {
    files = props.file_count === "single" ? uploaded.slice(0, 1) : [...files, ...uploaded];
    drawFiles();
    ctx.emit("change");
  });
  const element = fieldset(props, list, el("div", { class: "webui-multimodal-row" }, input, picker, submit));
  drawFiles();
  setEnabled(props.interactive);
  return {
    element,
    getValue: () => ({ text: input.value, files }),
    setValue(value) {
      input.value = value?.text ?? "";
      files = value?.files ?? [];
      drawFiles();
    },
    update(changed) {
      if ("interactive" in changed) setEnabled(changed.interactive);
      if ("placeholder" in changed) input.placeholder = changed.placeholder ?? "";
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}
