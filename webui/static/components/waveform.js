// What Audio shows around its <audio> element: the waveform (Gradio's WaveformOptions: colours,
// and the skip back/forward buttons moving by skip_length percent of the sound) unless
// show_recording_waveform is false, and the current subtitle cue (a WebVTT track the server
// made from Gradio's SRT/VTT/JSON subtitles) as text under the player.

import { el } from "./common.js";

const BARS = 160;
const HEIGHT = 48;

function cssColor(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

// Peak amplitude (0..1) of each of BARS slices of the decoded sound, or null if the browser
// cannot decode it.
async function peaksOf(url) {
  try {
    const bytes = await (await fetch(url)).arrayBuffer();
    const sound = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(bytes);
    const samples = sound.getChannelData(0);
    const size = Math.max(1, Math.floor(samples.length / BARS));
    return Array.from({ length: BARS }, (_, bar) => {
      let peak = 0;
      for (let i = bar * size; i < Math.min((bar + 1) * size, samples.length); i++) peak = Math.max(peak, Math.abs(samples[i]));
      return peak;
    });
  } catch {
    return null;
  }
}

function waveform(media, url, options) {
  const canvas = el("canvas", { class: "webui-waveform", width: BARS * 3, height: HEIGHT, "aria-label": "waveform" });
  canvas.style.cssText = "width:100%;height:48px;cursor:pointer;display:block";
  const color = options.waveform_color ?? cssColor("--body-text-color-subdued", "#9ca3af");
  const progress = options.waveform_progress_color ?? cssColor("--color-accent", "#f97316");
  let peaks = null;
  const draw = () => {
    if (!peaks) return;
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    const played = media.duration ? media.currentTime / media.duration : 0;
    peaks.forEach((peak, bar) => {
      const height = Math.max(2, peak * HEIGHT);
      context.fillStyle = bar / BARS < played ? progress : color;
      context.fillRect(bar * 3, (HEIGHT - height) / 2, 2, height);
    });
  };
  peaksOf(url).then((found) => {
    peaks = found;
    canvas.hidden = !found;
    draw();
  });
  for (const event of ["timeupdate", "seeked", "loadedmetadata", "ended"]) media.addEventListener(event, draw);
  canvas.addEventListener("click", (event) => {
    const box = canvas.getBoundingClientRect();
    if (media.duration) media.currentTime = ((event.clientX - box.left) / box.width) * media.duration;
  });
  return canvas;
}

function skipButtons(media, options) {
  // As Gradio's player: skip_length percent of the sound, or 5 s when that comes to nothing.
  const amount = () => (media.duration / 100) * Number(options.skip_length ?? 5) || 5;
  const button = (text, sign) =>
    el("button", {
      type: "button",
      class: "webui-button webui-button-secondary webui-button-sm webui-skip",
      text,
      onclick: () => (media.currentTime = Math.max(0, Math.min(media.duration || 0, media.currentTime + sign * amount()))),
    });
  return el("div", { class: "webui-media-controls" }, button(`⏪ ${options.skip_length ?? 5}%`, -1), button(`${options.skip_length ?? 5}% ⏩`, 1));
}

function captions(media, subtitles, ctx) {
  const line = el("div", { class: "webui-subtitle", "aria-live": "polite" });
  const track = el("track", { kind: "subtitles", default: true, src: ctx.fileUrl(subtitles) });
  media.append(track);
  const show = () => {
    const cues = [...(track.track.activeCues ?? [])];
    line.textContent = cues.map((cue) => cue.text).join("\n");
  };
  track.track.mode = "hidden"; // cues fire cuechange; the text shows in `line`, not over the player
  track.addEventListener("load", () => (track.track.mode = "hidden"));
  track.track.addEventListener("cuechange", show);
  return line;
}

export function audioExtras(media, url, props, ctx) {
  const options = props.waveform_options ?? {};
  const parts = [media];
  if (options.show_recording_waveform !== false) parts.push(waveform(media, url, options), skipButtons(media, options));
  if (props.subtitles) parts.push(captions(media, props.subtitles, ctx));
  return parts.length === 1 ? media : el("div", { class: "webui-audio" }, ...parts);
}
