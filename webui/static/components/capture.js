// The recording side of `.stream()`: an Image with sources=["webcam"] shows the camera and,
// while recording, uploads a PNG frame every `stream_every` seconds; an Audio with a microphone
// uploads the samples heard since the last chunk as a 16-bit PCM WAV. Each upload becomes the
// component's value and fires `stream` (the event runner sends it to the running event);
// stopping fires `stop_recording` and the runner's internal `stream_end` (it closes the event).

import { el, fieldset } from "./common.js";

// A WAV file of mono float samples in [-1, 1], as 16-bit PCM.
export function wavBlob(samples, sampleRate) {
  const bytes = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((c, i) => bytes.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  bytes.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  bytes.setUint32(16, 16, true); // fmt chunk size
  bytes.setUint16(20, 1, true); // PCM
  bytes.setUint16(22, 1, true); // mono
  bytes.setUint32(24, sampleRate, true);
  bytes.setUint32(28, sampleRate * 2, true); // bytes per second
  bytes.setUint16(32, 2, true); // bytes per frame
  bytes.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  bytes.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => bytes.setInt16(44 + i * 2, Math.max(-1, Math.min(1, x)) * 0x7fff, true));
  return new Blob([bytes], { type: "audio/wav" });
}

// The shared frame: a Record/Stop button, the status line, and the chunk timer. `open()`
// opens the device and returns {takeChunk(): Promise<File|null>, stop()}.
function recorder(props, ctx, { preview, open }) {
  let value = props.value ?? null;
  let every = 0.5; // seconds; the event's stream_every, set by the runner
  let device = null;
  let timer = null;
  let sending = false;
  const button = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Record" });
  const status = el("span", { class: "webui-upload-status" });
  const controls = el("div", { class: "webui-media-controls" }, button, status);

  const send = async (final = false) => {
    if (!device || (sending && !final)) return;
    sending = true;
    try {
      const file = await device.takeChunk();
      if (!file) return;
      const [uploaded] = await ctx.upload([file]);
      if (!device && !final) return; // stopped meanwhile: the stream has ended
      value = uploaded;
      ctx.emit("stream");
    } catch (error) {
      status.textContent = error.message;
    } finally {
      sending = false;
    }
  };
  const start = async () => {
    try {
      device = await open();
    } catch (error) {
      status.textContent = `Cannot record: ${error.message}`;
      ctx.error(`Cannot record: ${error.message}`);
      return;
    }
    button.textContent = "Stop";
    status.textContent = "Recording";
    ctx.emit("start_recording");
    timer = setInterval(send, every * 1000);
  };
  const stop = async ({ notify = true } = {}) => {
    if (!device) return;
    clearInterval(timer);
    if (notify) await send(true); // what was recorded since the last chunk
    device.stop();
    device = null;
    button.textContent = "Record";
    status.textContent = "";
    ctx.emit("stop_recording");
    if (notify) ctx.emit("stream_end");
  };
  button.addEventListener("click", () => (device ? stop() : start()));
  const element = fieldset(props, preview, controls);
  controls.hidden = !props.interactive;
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
    },
    update(changed) {
      if ("label" in changed) element.setLabel(changed.label);
      if ("interactive" in changed) controls.hidden = !changed.interactive;
    },
    // Called by the event runner: the stream event's settings, and the end of its run.
    streamWith({ streamEvery }) {
      if (streamEvery > 0) every = streamEvery;
    },
    streamEnded: () => stop({ notify: false }),
  };
}

export function webcamStream(props, ctx) {
  const video = el("video", { class: "webui-webcam", autoplay: true, muted: true, playsinline: true, style: "max-width: 100%" });
  const canvas = el("canvas");
  return recorder(props, ctx, {
    preview: video,
    async open() {
      const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      video.srcObject = media;
      await video.play().catch(() => {});
      return {
        async takeChunk() {
          if (!video.videoWidth) return null; // no frame yet
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          canvas.getContext("2d").drawImage(video, 0, 0);
          const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
          return blob ? new File([blob], "frame.png", { type: "image/png" }) : null;
        },
        stop() {
          media.getTracks().forEach((track) => track.stop());
          video.srcObject = null;
        },
      };
    },
  });
}

export function microphoneStream(props, ctx) {
  const level = el("span", { class: "webui-recording", text: "🎙" });
  return recorder(props, ctx, {
    preview: level,
    async open() {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      const audio = new AudioContext();
      const source = audio.createMediaStreamSource(media);
      // ScriptProcessor hands over raw samples without a worklet module to load.
      const tap = audio.createScriptProcessor(4096, 1, 1);
      let heard = [];
      tap.onaudioprocess = (event) => heard.push(new Float32Array(event.inputBuffer.getChannelData(0)));
      source.connect(tap);
      tap.connect(audio.destination); // the tap writes silence; connected, it keeps running
      return {
        async takeChunk() {
          if (!heard.length) return null;
          const total = heard.reduce((n, part) => n + part.length, 0);
          const samples = new Float32Array(total);
          let at = 0;
          for (const part of heard) {
            samples.set(part, at);
            at += part.length;
          }
          heard = [];
          return new File([wavBlob(samples, audio.sampleRate)], "chunk.wav", { type: "audio/wav" });
        },
        stop() {
          source.disconnect();
          tap.disconnect();
          media.getTracks().forEach((track) => track.stop());
          audio.close();
        },
      };
    },
  });
}
