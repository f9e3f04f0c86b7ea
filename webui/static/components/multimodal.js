// MultimodalTextbox: a text field with attached files ({text, files: [FileData]}); Enter
// (without Shift) or the submit button fires `submit`; attachments upload at once, whether
// picked, or pasted into the text field (files on the clipboard, such as a copied image, of
// the accepted types), and each chip's × takes its file off again.

import { el, fieldset, onPick } from "./common.js";

// Gradio's file_types as the picker's `accept`: "image" is "image/*", ".pdf" stays, "file"
// (anything) leaves the picker unfiltered.
function acceptOf(fileTypes) {
  const types = fileTypes ?? [];
  if (!types.length || types.includes("file")) return null;
  return types.map((kind) => (kind.startsWith(".") || kind.includes("/") ? kind : `${kind}/*`)).join(",");
}

// Whether a pasted file is of one of the accepted types (as the server checks: by the
// name's ending, or by the MIME type's first half).
function accepts(fileTypes, file) {
  const types = fileTypes ?? [];
  const name = file.name.toLowerCase();
  return !types.length || types.some((kind) => kind === "file" || (kind.startsWith(".") ? name.endsWith(kind.toLowerCase()) : file.type.startsWith(`${kind}/`)));
}

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
    accept: acceptOf(props.file_types),
  });
  const submit = el("button", { type: "button", class: "webui-button webui-button-primary webui-button-sm", text: typeof props.submit_btn === "string" ? props.submit_btn : "Send" });
  submit.hidden = props.submit_btn === false || props.submit_btn == null;
  const chip = (file) => {
    const name = file.orig_name ?? "file";
    const remove = el("button", { type: "button", class: "webui-file-chip-remove", title: `Remove ${name}`, "aria-label": `Remove ${name}` }); // × drawn by CSS: the chip's text is the name
    remove.addEventListener("click", () => {
      if (input.readOnly) return;
      files = files.filter((kept) => kept !== file);
      drawFiles();
      ctx.emit("change");
    });
    return el("span", { class: "webui-file-chip" }, name, remove);
  };
  const drawFiles = () => list.replaceChildren(...files.map(chip));
  const attach = (uploaded) => {
    files = props.file_count === "single" ? uploaded.slice(0, 1) : [...files, ...uploaded];
    drawFiles();
    ctx.emit("change");
  };
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
  onPick(picker, ctx, attach);
  input.addEventListener("paste", async (event) => {
    const pasted = [...(event.clipboardData?.files ?? [])].filter((file) => accepts(props.file_types, file));
    if (input.readOnly || !pasted.length || !(props.sources ?? ["upload"]).includes("upload")) return;
    event.preventDefault(); // the files are attached; any text beside them is not typed in
    try {
      attach(await ctx.upload(props.file_count === "single" ? pasted.slice(0, 1) : pasted));
    } catch (error) {
      ctx.error(error.message);
    }
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
