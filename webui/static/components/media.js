// Media components: Image, Audio, Video and File. Values are FileData dicts (a list of them for
// File with file_count="multiple"); uploads go through /gradio_api/upload first.

import { allowedUrl } from "../sanitize.js";
import { addImageSources } from "./camera.js";
import { microphoneStream, webcamStream } from "./capture.js";
import { el, fieldset } from "./common.js";
import { addRecorder } from "./microphone.js";
import { streamedOutput } from "./media_stream.js";
import { audioExtras } from "./waveform.js";

// `removable`: each file gets a remove button while interactive, which fires `delete` with
// {file} (Gradio's DeletedFileData), then `change`.
function mediaBlock(props, ctx, { accept, show, removable = false }) {
  const multiple = props.file_count === "multiple" || props.file_count === "directory";
  let value = props.value ?? null;
  let interactive = props.interactive;
  const preview = el("div", { class: "webui-media-preview" });
  const picker = el("input", { type: "file", class: "webui-upload", accept, multiple });
  const clear = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Clear" });
  const status = el("span", { class: "webui-upload-status" });
  const controls = el("div", { class: "webui-media-controls" }, picker, clear, status);
  const draw = () => {
    const files = value == null ? [] : Array.isArray(value) ? value : [value];
    preview.replaceChildren(
      ...files.map((file) => {
        const shown = show(ctx.fileUrl(file), file);
        if (!removable || !interactive) return shown;
        const remove = el("button", { type: "button", class: "webui-file-remove", "aria-label": "Remove file", text: "×" });
        remove.addEventListener("click", () => removeFile(file));
        return el("span", { class: "webui-file-item" }, shown, remove);
      }),
    );
    controls.hidden = !interactive;
    clear.hidden = value == null;
  };
  const removeFile = (file) => {
    const rest = Array.isArray(value) ? value.filter((item) => item !== file) : [];
    value = multiple && rest.length ? rest : null;
    draw();
    ctx.emit("delete", { file });
    ctx.emit("change");
    ctx.emit("input");
  };
  picker.addEventListener("change", async () => {
    if (!picker.files.length) return;
    status.textContent = "Uploading…";
    try {
      const uploaded = await ctx.upload([...picker.files]);
      value = multiple ? uploaded : uploaded[0];
      status.textContent = "";
      draw();
      ctx.emit("upload");
      ctx.emit("change");
      ctx.emit("input");
    } catch (error) {
      status.textContent = error.message;
      ctx.error(error.message);
    } finally {
      picker.value = "";
    }
  });
  clear.addEventListener("click", () => {
    value = null;
    draw();
    ctx.emit("clear");
    ctx.emit("change");
    ctx.emit("input");
  });
  const element = fieldset(props, preview, controls);
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      if ("interactive" in changed) interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      draw();
      if ("playback_position" in changed) {
        props.playback_position = changed.playback_position;
        for (const media of preview.querySelectorAll("audio, video")) seek(media, props);
      }
    },
  };
}

// Gradio's playback_position: where an audio or video starts, in seconds; an update seeks
// there, and playing keeps the prop at the current time.
function seek(media, props) {
  const to = Number(props.playback_position ?? 0);
  if (media.readyState >= 1) media.currentTime = to;
  else media.addEventListener("loadedmetadata", () => (media.currentTime = to), { once: true });
}

function playable(tag, url, props, attrs) {
  const media = el(tag, { controls: true, src: url, autoplay: props.autoplay || null, loop: props.loop || null, ...attrs });
  media.addEventListener("timeupdate", () => (props.playback_position = media.currentTime));
  if (props.playback_position) seek(media, props);
  return media;
}

// With a .stream() listener (props.streaming), an interactive Image records the webcam and an
// Audio the microphone, sending chunks (capture.js).
// Without .stream(), the webcam takes one picture and the clipboard pastes one (camera.js).
export const image = (props, ctx) =>
  props.streaming && props.interactive ? webcamStream(props, ctx) : addImageSources(mediaBlock(props, ctx, {
    accept: "image/*",
    show: (url, file) => el("img", { class: "webui-image", src: url, alt: file.orig_name ?? "image" }),
  }), props, ctx);

// Without .stream(), a microphone in sources records a whole clip (microphone.js). As a
// generator's output, Audio(streaming=True) plays the chunks in order (media_stream.js).
export const audio = (props, ctx) =>
  props.streaming && props.interactive ? microphoneStream(props, ctx) : streamedOutput(addRecorder(mediaBlock(props, ctx, {
    accept: "audio/*",
    show: (url) =>
      audioExtras(
        playable("audio", url, props, {
          onplay: () => ctx.emit("play"),
          onpause: () => ctx.emit("pause"),
          onended: () => ctx.emit("end"),
        }),
        url,
        props,
        ctx,
      ),
  }), props, ctx), props, ctx, "audio");

export const video = (props, ctx) =>
  streamedOutput(mediaBlock(props, ctx, {
    accept: "video/*",
    show: (url) => {
      const video = playable("video", url, props, {});
      // Gradio's subtitles (WebVTT, converted by the server from SRT or JSON) as a track.
      if (props.subtitles) video.append(el("track", { kind: "subtitles", default: true, src: ctx.fileUrl(props.subtitles) }));
      return video;
    },
  }), props, ctx, "video");

function fileName(file) {
  return file.orig_name ?? String(file.path ?? "file").split(/[\\/]/).pop();
}

// A click on a file's link fires `download` with {file} (Gradio's DownloadData).
export const file = (props, ctx) =>
  mediaBlock(props, ctx, {
    accept: (props.file_types ?? []).join(",") || null,
    removable: true,
    show: (url, item) =>
      el(
        "a",
        {
          class: "webui-file-link",
          href: allowedUrl(url),
          download: fileName(item),
          target: "_blank",
          rel: "noopener",
          onclick: () => ctx.emit("download", { file: item }),
        },
        `${fileName(item)}${item.size != null ? ` (${(item.size / 1024).toFixed(1)} KB)` : ""}`,
      ),
  });
