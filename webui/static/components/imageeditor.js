// ImageEditor: uploads a background image (or captures one from the webcam) and sends
// EditorData with composite = background and no layers. There are no drawing tools: what
// Gradio's editor draws cannot be made here. The empty canvas has canvas_size's proportions;
// webcam_options mirror the camera and pass getUserMedia constraints; buttons are download and
// fullscreen (both by default).

import { el, fieldset, hasButton, onPick } from "./common.js";

// A webcam preview with a Capture button; `captured(file)` gets a PNG File of the frame.
function webcam(options, captured, ctx) {
  const video = el("video", { class: "webui-webcam", autoplay: true, playsinline: true, muted: true });
  if (options.mirror) video.style.transform = "scaleX(-1)";
  let stream = null;
  const stop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    panel.hidden = true;
  };
  const capture = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Capture" });
  const panel = el("div", { class: "webui-webcam-panel", hidden: true }, video, capture);
  capture.addEventListener("click", () => {
    const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
    const context = canvas.getContext("2d");
    if (options.mirror) context.setTransform(-1, 0, 0, 1, canvas.width, 0);
    context.drawImage(video, 0, 0);
    stop();
    canvas.toBlob((blob) => blob && captured(new File([blob], "webcam.png", { type: "image/png" })), "image/png");
  });
  const open = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Webcam" });
  open.addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia(options.constraints ?? { video: true });
      video.srcObject = stream;
      panel.hidden = false;
    } catch (error) {
      ctx.error(`The webcam is not available: ${error.message}`);
    }
  });
  return { open, panel };
}

export function imageeditor(props, ctx) {
  let value = props.value ?? null;
  const preview = el("img", { class: "webui-image", alt: "background" });
  const [width, height] = props.canvas_size ?? [800, 800];
  const blank = el("div", { class: "webui-editor-canvas" });
  blank.style.aspectRatio = `${width} / ${height}`;
  blank.style.maxWidth = `${width}px`;
  const picker = el("input", { type: "file", class: "webui-upload", accept: "image/*" });
  const download = el("a", { class: "webui-file-link", text: "Download", download: "image.png" });
  const set = (file) => {
    value = { background: file, layers: [], composite: file, id: null };
    draw();
    ctx.emit("upload");
    ctx.emit("change");
    ctx.emit("input");
  };
  const camera = (props.sources ?? []).includes("webcam")
    ? webcam(props.webcam_options ?? { mirror: true }, async (file) => {
        try {
          set((await ctx.upload([file]))[0]);
        } catch (error) {
          ctx.error(error.message);
        }
      }, ctx)
    : null;
  const draw = () => {
    const shown = value?.composite ?? value?.background;
    preview.hidden = !shown;
    blank.hidden = Boolean(shown);
    if (shown) preview.src = ctx.fileUrl(shown);
    download.hidden = !shown;
    if (shown) download.href = ctx.fileUrl(shown);
    const editable = props.interactive !== false;
    picker.hidden = !editable;
    if (camera) camera.open.hidden = !editable;
  };
  onPick(picker, ctx, ([file]) => set(file));
  const fullscreen = () => (document.fullscreenElement ? document.exitFullscreen() : element.requestFullscreen?.());
  const tools = el(
    "div",
    { class: "webui-media-controls" },
    picker,
    camera?.open,
    hasButton(props, "download", ["download", "fullscreen"]) ? download : null,
    hasButton(props, "fullscreen", ["download", "fullscreen"])
      ? el("button", { type: "button", class: "webui-fullscreen", title: "Fullscreen", text: "⛶", onclick: fullscreen })
      : null,
  );
  const element = fieldset(props, preview, blank, camera?.panel, tools);
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
