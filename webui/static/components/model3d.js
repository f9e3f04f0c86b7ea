// Model3D: no 3D viewer; the model file is shown as a download link, and interactive
// Model3D blocks upload a model file.

import { allowedUrl } from "../sanitize.js";
import { el, fieldset, onPick } from "./common.js";

export function model3d(props, ctx) {
  let value = props.value ?? null;
  const link = el("a", { class: "webui-file-link", target: "_blank", rel: "noopener" });
  const picker = el("input", { type: "file", class: "webui-upload", accept: ".obj,.glb,.gltf,.stl,.splat,.ply" });
  const draw = () => {
    link.hidden = !value;
    link.textContent = value?.orig_name ?? "";
    const url = value ? allowedUrl(ctx.fileUrl(value)) : null;
    if (url) link.setAttribute("href", url);
    picker.hidden = props.interactive === false;
  };
  onPick(picker, ctx, ([file]) => {
    value = file;
    draw();
    ctx.emit("upload");
    ctx.emit("change");
  });
  const element = fieldset(props, link, picker);
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      if ("interactive" in changed) props.interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      draw();
    },
  };
}
