// Streamed media outputs: Audio(streaming=True) or Video(streaming=True) fed by a generator.
// Each value marked is_stream is a chunk (a file in the app's cache) or, when the event ends,
// the whole stream (its url under /gradio_api/stream/, which joins the chunks). Chunks play one
// after another in the order they came: audio gaplessly, each decoded and scheduled by Web Audio
// right after the one before; video by moving to the next file when one ends. Without autoplay
// the chunks wait for Play. The whole stream becomes a download link. Any other value (a plain
// file, or null) stops the stream and shows as the block always shows it.

import { el } from "./common.js";

const WHOLE = "/gradio_api/stream/";

export function streamedOutput(block, props, ctx, tag) {
  let player = null; // made, with its panel, when the first stream begins
  let panel, download;
  const begin = () => {
    player = tag === "audio" ? audioPlayer(props, ctx) : videoPlayer(props, ctx);
    download = el("a", { class: "webui-file-link", hidden: true, text: "Download" });
    panel = el("div", { class: "webui-media-stream" }, player.element, download);
    block.element.append(panel);
  };
  let value = null; // the stream's last value, while a stream is shown
  let ended = true; // the next chunk starts a new stream
  const show = block.setValue;
  const shown = block.getValue;
  block.getValue = () => (value?.is_stream ? value : shown());
  block.setValue = (next) => {
    value = next ?? null;
    if (!next?.is_stream) {
      player?.reset();
      if (panel) panel.hidden = true;
      ended = true;
      show(next);
      return;
    }
    if (!player) begin();
    const url = ctx.fileUrl(next);
    if (url.includes(WHOLE)) {
      ended = true;
      player.end();
      download.href = url;
      download.download = next.orig_name ?? "";
      download.hidden = false;
      return;
    }
    if (ended) {
      show(null); // the stream replaces what was shown
      player.reset();
      download.hidden = true;
      panel.hidden = false;
      ended = false;
    }
    player.add(url);
  };
  return block;
}

// Web Audio: every chunk starts exactly where the previous one stops (no gap, no overlap).
function audioPlayer(props, ctx) {
  const status = el("span", { class: "webui-upload-status" });
  const play = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Play" });
  const element = el("div", { class: "webui-stream-audio" }, play, status);
  let audio = null; // the AudioContext, made on the first chunk
  let state;
  const reset = () => {
    for (const source of state?.sources ?? []) source.stop();
    state = { next: 0, received: 0, played: 0, waiting: [], sources: [], ended: false, started: Boolean(props.autoplay), chain: Promise.resolve() };
    element.dataset.chunks = "0";
    element.dataset.starts = "";
    element.dataset.durations = "";
    status.textContent = "";
    play.hidden = state.started;
  };
  const schedule = (buffer, mine) => {
    const source = audio.createBufferSource();
    source.buffer = buffer;
    source.connect(audio.destination);
    const at = Math.max(audio.currentTime, mine.next);
    source.start(at);
    mine.next = at + buffer.duration;
    mine.sources.push(source);
    element.dataset.starts += `${element.dataset.starts ? "," : ""}${at.toFixed(4)}`;
    element.dataset.durations += `${element.dataset.durations ? "," : ""}${buffer.duration.toFixed(4)}`;
    if (mine.sources.length === 1) ctx.emit("play");
    source.addEventListener("ended", () => {
      mine.played += 1;
      status.textContent = `${mine.played} of ${mine.received} played`;
      if (mine.ended && mine.played === mine.received) ctx.emit("end");
    });
  };
  play.addEventListener("click", async () => {
    state.started = true;
    play.hidden = true;
    await audio?.resume();
    for (const buffer of state.waiting.splice(0)) schedule(buffer, state);
  });
  reset();
  return {
    element,
    reset,
    add(url) {
      const mine = state;
      mine.received += 1;
      element.dataset.chunks = String(mine.received);
      mine.chain = mine.chain
        .then(async () => {
          audio ??= new AudioContext();
          const response = await fetch(url);
          if (!response.ok) throw new Error(`${response.status} for ${url}`);
          const buffer = await audio.decodeAudioData(await response.arrayBuffer());
          if (mine !== state) return; // a newer stream replaced this one
          if (mine.started) {
            await audio.resume();
            schedule(buffer, mine);
          } else mine.waiting.push(buffer);
        })
        .catch((error) => ctx.error(`streamed audio: ${error.message}`));
    },
    end() {
      state.ended = true;
    },
  };
}

// A <video> that moves to the next chunk when one ends.
function videoPlayer(props, ctx) {
  const element = el("video", { controls: true, class: "webui-stream-video" });
  let queue = [];
  let current = -1;
  const advance = () => {
    if (current + 1 >= queue.length) return false;
    current += 1;
    element.src = queue[current];
    element.dataset.playing = String(current);
    return true;
  };
  element.addEventListener("ended", () => {
    if (advance()) element.play().catch(() => {});
    else if (element.dataset.ended) ctx.emit("end");
  });
  element.addEventListener("play", () => ctx.emit("play"));
  return {
    element,
    reset() {
      queue = [];
      current = -1;
      element.removeAttribute("src");
      delete element.dataset.ended;
      element.dataset.chunks = "0";
    },
    add(url) {
      queue.push(url);
      element.dataset.chunks = String(queue.length);
      const idle = current < 0 || (element.ended && current === queue.length - 2);
      if (idle && advance() && (props.autoplay || current > 0)) element.play().catch(() => {});
    },
    end() {
      element.dataset.ended = "true";
    },
  };
}
