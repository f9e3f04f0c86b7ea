// ImageEditor: uploads a background image and sends EditorData with composite = background and
// no layers. There are no drawing tools: what Gradio's editor draws cannot be made here.

import { el, fieldset, onPick } from "./common.js";

export function imageeditor(props, ctx) {
  let value = props.value ?? null;
  const preview = el("img", { class: "webui-image", alt: "background" });
  const picker = el("input", { type: "file", class: "webui-upload", accept: "image/*" });
  const draw = () => {
    const shown = value?.composite ?? value?.background;
    preview.hidden = !shown;
    if (shown) preview.src = ctx.fileUrl(shown);
    picker.hidden = props.interactive === false;
  };
  onPick(picker, ctx, ([file]) => {
    value = { background: file, layers: [], composite: file, id: null };
    draw();
    ctx.emit("upload");
    ctx.emit("change");
    ctx.emit("input");
  });
  const element = fieldset(props, preview, picker);
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
