// UploadButton (a button that opens a file picker and uploads; its value is the FileData, a
// list with file_count="multiple") and DownloadButton (a link-button to its file).

import { allowedUrl } from "../sanitize.js";
import { el, onPick } from "./common.js";

function buttonClass(props) {
  return `webui-button webui-button-${props.variant ?? "secondary"}${props.size === "sm" ? " webui-button-sm" : ""}`;
}

export function uploadbutton(props, ctx) {
  const multiple = props.file_count === "multiple" || props.file_count === "directory";
  let value = props.value ?? null;
  const picker = el("input", { type: "file", hidden: true, multiple, accept: (props.file_types ?? []).join(",") || null });
  const button = el("button", { type: "button", class: buttonClass(props), text: props.label ?? "Upload a File" });
  button.disabled = props.interactive === false;
  button.addEventListener("click", () => {
    ctx.emit("click");
    picker.click();
  });
  onPick(picker, ctx, (uploaded) => {
    value = multiple ? uploaded : uploaded[0];
    ctx.emit("upload");
    ctx.emit("change");
  });
  return {
    element: el("div", { class: "webui-upload-button" }, button, picker),
    getValue: () => value,
    setValue: (next) => (value = next ?? null),
    update(changed) {
      if ("label" in changed) button.textContent = changed.label ?? "";
      if ("interactive" in changed) button.disabled = changed.interactive === false;
    },
  };
}

export function downloadbutton(props, ctx) {
  let value = props.value ?? null;
  const link = el("a", { class: buttonClass(props), role: "button", text: props.label ?? "Download" });
  const draw = () => {
    const url = value ? allowedUrl(ctx.fileUrl(value)) : null;
    if (url) link.setAttribute("href", url);
    else link.removeAttribute("href");
    link.setAttribute("download", value?.orig_name ?? "");
  };
  link.addEventListener("click", () => ctx.emit("click"));
  draw();
  return {
    element: link,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      if ("label" in changed) link.textContent = changed.label ?? "";
    },
  };
}
