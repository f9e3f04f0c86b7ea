// Recording a whole clip into an Audio whose sources include "microphone" (without .stream()):
// Record starts the microphone, Stop uploads everything heard as one 16-bit PCM WAV (which
// Audio(type="numpy") reads) and makes it the value, firing start_recording, stop_recording,
// change and input as Gradio's Audio does. Without "upload" in sources the file picker hides.

import { wavBlob } from "./capture.js";
import { el } from "./common.js";

async function openMicrophone() {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(media);
  // ScriptProcessor hands over raw samples without a worklet module to load.
  const tap = context.createScriptProcessor(4096, 1, 1);
  const heard = [];
  tap.onaudioprocess = (event) => heard.push(new Float32Array(event.inputBuffer.getChannelData(0)));
  source.connect(tap);
  tap.connect(context.destination); // the tap writes silence; connected, it keeps running
  return {
    finish() {
      source.disconnect();
      tap.disconnect();
      media.getTracks().forEach((track) => track.stop());
      context.close();
      const samples = new Float32Array(heard.reduce((n, part) => n + part.length, 0));
      let at = 0;
      for (const part of heard) {
        samples.set(part, at);
        at += part.length;
      }
      return new File([wavBlob(samples, context.sampleRate)], "recording.wav", { type: "audio/wav" });
    },
  };
}

// Adds the Record button to an Audio block made by media.js (`block.setValue` shows a value).
export function addRecorder(block, props, ctx) {
  const sources = props.sources ?? ["upload", "microphone"];
  // the block's own upload controls, not those inside the preview (the skip buttons)
  const controls = block.element.querySelector(":scope > .webui-media-controls");
  controls.querySelector("input[type=file]").hidden = !sources.includes("upload");
  if (!sources.includes("microphone")) return block;
  const button = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm webui-record", text: "Record" });
  const status = el("span", { class: "webui-upload-status" });
  let microphone = null;
  button.addEventListener("click", async () => {
    if (!microphone) {
      try {
        microphone = await openMicrophone();
      } catch (error) {
        ctx.error(`Cannot record: ${error.message}`);
        return;
      }
      button.textContent = "Stop";
      status.textContent = "Recording";
      ctx.emit("start_recording");
      return;
    }
    const clip = microphone.finish();
    microphone = null;
    button.textContent = "Record";
    status.textContent = "Uploading…";
    try {
      const [uploaded] = await ctx.upload([clip]);
      block.setValue(uploaded);
      status.textContent = "";
      ctx.emit("stop_recording");
      ctx.emit("change");
      ctx.emit("input");
    } catch (error) {
      status.textContent = error.message;
      ctx.error(error.message);
    }
  });
  controls.prepend(button, status);
  return block;
}
