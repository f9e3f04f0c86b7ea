// ImageSlider: two images stacked; the first shows left of the handle, the second right of it.
// The value is [before, after] (ImageData or null each). An interactive slider uploads the
// first image (Gradio's unified slider: the app's upload listener makes the second).

import { el, fieldset, onPick } from "./common.js";

function sized(node, props) {
  if (props.height != null) node.style.height = typeof props.height === "number" ? `${props.height}px` : props.height;
  if (props.width != null) node.style.width = typeof props.width === "number" ? `${props.width}px` : props.width;
  node.style.maxHeight = `${props.max_height ?? 500}px`;
}

export function imageslider(props, ctx) {
  let value = props.value ?? null;
  let interactive = props.interactive;
  const after = el("img", { class: "webui-slider-after", alt: "after" });
  const before = el("img", { class: "webui-slider-before", alt: "before" });
  const handle = el("div", { class: "webui-slider-handle" });
  const stage = el("div", { class: "webui-image-slider" }, after, before, handle);
  stage.style.cssText = "position:relative;display:inline-block;max-width:100%;line-height:0";
  before.style.cssText = "position:absolute;inset:0;width:100%;height:100%;object-fit:contain";
  after.style.cssText = "display:block;max-width:100%;object-fit:contain";
  handle.style.cssText = "position:absolute;top:0;bottom:0;width:2px;background:var(--color-accent, #f97316);pointer-events:none";
  const range = el("input", { type: "range", min: "0", max: "100", step: "any", class: "webui-slider-range", "aria-label": "slider position" });
  const picker = el("input", { type: "file", class: "webui-upload", accept: "image/*" });
  const clear = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Clear" });
  const download = el("a", { class: "webui-button webui-button-secondary webui-button-sm", text: "Download", download: "" });
  const fullscreen = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Fullscreen" });
  fullscreen.addEventListener("click", () => stage.requestFullscreen?.());
  const tools = el("div", { class: "webui-media-controls" }, download, fullscreen);
  const controls = el("div", { class: "webui-media-controls" }, picker, clear);

  const place = (position) => {
    const at = Math.min(100, Math.max(0, Number(position)));
    range.value = String(at);
    before.style.clipPath = `inset(0 ${100 - at}% 0 0)`;
    handle.style.left = `calc(${at}% - 1px)`;
  };
  const draw = () => {
    const [first, second] = value ?? [null, null];
    // One image alone fills the stage; with two, the second lies under the first.
    const under = second ?? first;
    after.hidden = !under;
    if (under) after.src = ctx.fileUrl(under);
    before.hidden = !(first && second);
    if (first && second) before.src = ctx.fileUrl(first);
    handle.hidden = range.hidden = !(first && second);
    sized(after, props);
    const buttons = props.buttons ?? ["download", "fullscreen"];
    download.hidden = !buttons.includes("download") || !under;
    if (under) download.href = ctx.fileUrl(under);
    fullscreen.hidden = !buttons.includes("fullscreen") || !under;
    tools.hidden = download.hidden && fullscreen.hidden;
    controls.hidden = !interactive;
    clear.hidden = value == null;
  };
  range.addEventListener("input", () => place(range.value));
  onPick(picker, ctx, (uploaded) => {
    value = [uploaded[0], null];
    draw();
    ctx.emit("upload");
    ctx.emit("change");
    ctx.emit("input");
  });
  clear.addEventListener("click", () => {
    value = null;
    draw();
    ctx.emit("clear");
    ctx.emit("change");
    ctx.emit("input");
  });
  const element = fieldset(props, stage, range, tools, controls);
  place(props.slider_position ?? 50);
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      Object.assign(props, changed);
      if ("interactive" in changed) interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      if ("slider_position" in changed) place(changed.slider_position);
      draw();
    },
  };
}
