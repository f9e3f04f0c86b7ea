// An Image's other sources (without .stream()): "webcam" shows the camera (webcam_options:
// mirrored, getUserMedia constraints) and Capture uploads one PNG frame; "clipboard" takes an image pasted into the block (Ctrl+V once it has focus).
// Either becomes the value and fires change and input, as Gradio's Image does. Without "upload"
// in sources the file picker hides.

import { el } from "./common.js";

// One frame as PNG, mirrored as the preview is when webcam_options.mirror.
function frameOf(video, mirror) {
  const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
  const context = canvas.getContext("2d");
  if (mirror) context.setTransform(-1, 0, 0, 1, canvas.width, 0);
  context.drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

async function received(block, ctx, file) {
  try {
    const [uploaded] = await ctx.upload([file]);
    block.setValue(uploaded);
    ctx.emit("change");
    ctx.emit("input");
  } catch (error) {
    ctx.error(error.message);
  }
}

function webcam(block, ctx, controls, options) {
  const mirror = options.mirror !== false; // Gradio's WebcamOptions mirror by default
  const video = el("video", { class: "webui-webcam", autoplay: true, muted: true, playsinline: true, hidden: true });
  video.style.maxWidth = "100%";
  if (mirror) video.style.transform = "scaleX(-1)";
  const open = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm webui-webcam-open", text: "Webcam" });
  const capture = el("button", { type: "button", class: "webui-button webui-button-primary webui-button-sm webui-webcam-capture", text: "Capture", hidden: true });
  let media = null;
  const close = () => {
    media?.getTracks().forEach((track) => track.stop());
    media = null;
    video.srcObject = null;
    video.hidden = capture.hidden = true;
    open.textContent = "Webcam";
  };
  open.addEventListener("click", async () => {
    if (media) return close();
    try {
      media = await navigator.mediaDevices.getUserMedia(options.constraints ?? { video: true, audio: false });
    } catch (error) {
      ctx.error(`Cannot open the webcam: ${error.message}`);
      return;
    }
    video.srcObject = media;
    video.hidden = capture.hidden = false;
    open.textContent = "Close webcam";
  });
  capture.addEventListener("click", async () => {
    if (!video.videoWidth) return; // no frame yet
    const blob = await frameOf(video, mirror);
    close();
    if (blob) await received(block, ctx, new File([blob], "webcam.png", { type: "image/png" }));
  });
  controls.prepend(open, capture);
  controls.after(video);
}

function clipboard(block, ctx) {
  const frame = block.element;
  frame.tabIndex = 0;
  frame.title = "Paste an image here";
  frame.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
    if (!file || frame.querySelector(":scope > .webui-media-controls")?.hidden) return;
    event.preventDefault();
    received(block, ctx, file);
  });
}

// Adds the webcam and clipboard sources to an Image block made by media.js.
export function addImageSources(block, props, ctx) {
  const sources = props.sources ?? ["upload", "webcam", "clipboard"];
  const controls = block.element.querySelector(":scope > .webui-media-controls");
  controls.querySelector("input[type=file]").hidden = !sources.includes("upload");
  if (sources.includes("webcam")) webcam(block, ctx, controls, props.webcam_options ?? {});
  if (sources.includes("clipboard")) clipboard(block, ctx);
  return block;
}
