// The queue protocol (sse_v3) as the page speaks it: join an event, read the session's one
// message stream, cancel, and upload files. gradio_client speaks the same protocol.

const FILE_DATA = "gradio.FileData";

function randomHash() {
  return Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
}

async function detailOf(reply) {
  try {
    const body = await reply.json();
    if (typeof body.detail === "string") return body.detail;
    if (typeof body.detail?.error === "string") return body.detail.error; // "Not authenticated"
    return JSON.stringify(body.detail ?? body);
  } catch {
    return `${reply.status} ${reply.statusText}`;
  }
}

export class Session {
  constructor(base) {
    this.base = base; // the app's root URL, ending in "/"
    this.hash = randomHash();
    this.handlers = new Map(); // event_id -> function(message)
    this.early = new Map(); // messages that arrived before their join reply was read
    this.reading = null; // the open stream's promise, or null
    // Held open while the page lives: when it closes, the server ends the session (unload
    // events, State delete callbacks). EventSource reconnects by itself after a network blip.
    this.heartbeat = new EventSource(this.url(`gradio_api/heartbeat/${this.hash}`));
  }

  url(path) {
    return new URL(path, this.base).href;
  }

  // Join an event; `onMessage` receives each of its messages, the last being
  // process_completed. Returns the event id.
  async submit(fnIndex, data, triggerId, onMessage, eventData = null) {
    // The page's query string goes along, so gr.Request.query_params sees it, as in Gradio.
    const reply = await fetch(this.url(`gradio_api/queue/join${window.location.search}`), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        data,
        fn_index: fnIndex,
        trigger_id: triggerId,
        event_data: eventData,
        session_hash: this.hash,
      }),
    });
    if (!reply.ok) throw new Error(await detailOf(reply));
    const { event_id: eventId } = await reply.json();
    this.handlers.set(eventId, onMessage);
    for (const message of this.early.get(eventId) ?? []) this.dispatch(message);
    this.early.delete(eventId);
    this.ensureStream();
    return eventId;
  }

  // An event outside the queue (queue=False): its whole output, or `{error}` if it failed.
  async run(apiName, data, triggerId, eventData = null) {
    const reply = await fetch(this.url(`gradio_api/run/${apiName}`), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ data, trigger_id: triggerId, event_data: eventData, session_hash: this.hash }),
    });
    const body = await reply.json().catch(() => ({}));
    if (reply.ok) return body;
    const detail = body.detail;
    return { error: body.error ?? (typeof detail === "string" ? detail : `HTTP ${reply.status}`), ...body };
  }

  async cancel(eventId, fnIndex) {
    await fetch(this.url("gradio_api/cancel"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event_id: eventId, session_hash: this.hash, fn_index: fnIndex }),
    });
  }

  // The server closes the stream once the session is idle; it is reopened for the next join,
  // or at once if it closed while events were still pending.
  ensureStream() {
    if (this.reading || this.handlers.size === 0) return;
    this.reading = this.read()
      .catch((error) => this.failAll(`Connection errored out: ${error.message}`))
      .finally(() => {
        this.reading = null;
        this.ensureStream();
      });
  }

  async read() {
    const reply = await fetch(this.url(`gradio_api/queue/data?session_hash=${this.hash}`));
    if (!reply.ok) throw new Error(await detailOf(reply));
    const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (!data) continue;
        const message = JSON.parse(data);
        if (message.msg === "close_stream") return;
        if (message.msg === "unexpected_error" && message.event_id == null) {
          this.failAll(message.message || "the server lost this session");
          return;
        }
        this.dispatch(message);
      }
    }
  }

  dispatch(message) {
    const id = message.event_id;
    if (id == null) return; // heartbeats
    const handler = this.handlers.get(id);
    if (!handler) {
      if (!this.early.has(id)) this.early.set(id, []);
      this.early.get(id).push(message);
      return;
    }
    if (message.msg === "process_completed" || message.msg === "unexpected_error") {
      this.handlers.delete(id);
    }
    handler(message);
  }

  failAll(text) {
    const handlers = [...this.handlers.entries()];
    this.handlers.clear();
    for (const [id, handler] of handlers) {
      handler({ msg: "process_completed", event_id: id, success: false, output: { error: text } });
    }
  }

  // Upload browser File objects; resolves to one FileData per file, as inputs expect them.
  async upload(files) {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const reply = await fetch(this.url("gradio_api/upload"), { method: "POST", body: form });
    if (!reply.ok) throw new Error(`upload failed: ${await detailOf(reply)}`);
    const paths = await reply.json();
    return paths.map((path, i) => ({
      path,
      url: this.fileUrl({ path }),
      orig_name: files[i].name,
      size: files[i].size,
      mime_type: files[i].type || null,
      is_stream: false,
      meta: { _type: FILE_DATA },
    }));
  }

  // Where the browser fetches a FileData from: its url, else the server's file route.
  fileUrl(fileData) {
    if (!fileData) return "";
    if (typeof fileData === "string") return fileData;
    if (fileData.url) return fileData.url;
    return this.url(`gradio_api/file=${fileData.path}`);
  }
}
