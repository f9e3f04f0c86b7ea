// The event graph in the browser: listeners on components start dependencies through the
// queue, messages drive the outputs (streaming diffs, prop updates, progress, logs, errors),
// `.then`/`.success`/`.failure` follow-ups start when their predecessor completes, `cancels`
// stop events. A dependency's `js` is author-trusted code from the app (like its css and html):
// the page evaluates it as a function of the input (and output) values; its result feeds the
// Python fn as its inputs, or, with no fn, becomes the outputs, as in Gradio.

import { applyDiff } from "./diff.js";
import { closeStream, postChunk } from "./stream_inputs.js";
import { toast } from "./toast.js";

function isUpdate(value) {
  return value !== null && typeof value === "object" && value.__type__ === "update";
}

function progressText(units) {
  const unit = units?.[0];
  if (!unit) return { text: "running", fraction: null };
  const fraction = unit.progress ?? (unit.length ? unit.index / unit.length : null);
  const count = unit.length ? `${unit.index}/${unit.length} ${unit.unit ?? ""}`.trim() : "";
  const text = [unit.desc, count].filter(Boolean).join(" ") || "running";
  return { text, fraction };
}

export class EventRunner {
  constructor(config, views, session) {
    this.dependencies = config.dependencies ?? [];
    this.views = views; // block id -> View
    this.session = session;
    this.active = new Map(); // dependency id -> Set of runs not yet completed
    this.followers = new Map(); // dependency id -> dependencies started after it
    this.loads = [];
  }

  wire(dependencies = this.dependencies) {
    for (const dep of dependencies) {
      if (dep.trigger_after != null) {
        if (!this.followers.has(dep.trigger_after)) this.followers.set(dep.trigger_after, []);
        this.followers.get(dep.trigger_after).push(dep);
      }
      for (const [target, event] of dep.targets ?? []) {
        if (event === "load") this.loads.push(dep);
        else this.views.get(target)?.on(event, (data) => this.trigger(dep, target, data));
        if (event === "stream") this.wireStream(dep, target);
      }
      if (dep.every) setInterval(() => this.trigger(dep, null), dep.every * 1000);
    }
  }

  start() {
    for (const dep of this.loads) this.trigger(dep, null);
  }

  // A .stream() event: its component records every stream_every seconds; the page's
  // `stream_end` (recording stopped) closes the running event.
  wireStream(dep, target) {
    const view = this.views.get(target);
    view?.handle?.streamWith?.({ streamEvery: dep.stream_every });
    view?.on("stream_end", () => {
      // After the last chunk's POST, so the event sees that chunk before it closes; a run
      // still joining closes once it has its event id.
      for (const run of this.active.get(dep.id) ?? []) {
        if (run.eventId) Promise.resolve(run.chunkSent).then(() => closeStream(this.session, run.eventId));
        else run.closeOnJoin = true;
      }
    });
  }

  // A chunk for a .stream() event that runs already goes to it; false: none runs, join.
  sendChunk(dep, triggerId, eventData) {
    const [run] = this.active.get(dep.id) ?? [];
    if (!run) return false;
    // A chunk taken while the join is on its way is dropped; the next one follows it.
    if (run.eventId) {
      const data = dep.inputs.map((id) => this.views.get(id)?.getValue() ?? null);
      run.chunkSent = postChunk(this.session, run.eventId, dep.id, data, triggerId, eventData);
    }
    return true;
  }

  cancelTargets(dep) {
    for (const id of dep.cancels ?? []) {
      for (const run of this.active.get(id) ?? []) this.stop(run);
    }
  }

  stop(run) {
    run.cancelled = true;
    if (run.eventId) this.session.cancel(run.eventId, run.dep.id);
  }

  // The dependency's js function, evaluated once; it sees inputs then outputs as arguments.
  async runJs(dep) {
    if (!this.jsFunctions) this.jsFunctions = new Map();
    if (!this.jsFunctions.has(dep.id)) this.jsFunctions.set(dep.id, new Function(`return (${dep.js});`)());
    const fn = this.jsFunctions.get(dep.id);
    const values = [...dep.inputs, ...dep.outputs].map((id) => this.views.get(id)?.getValue() ?? null);
    const result = await fn(...values);
    if (dep.outputs.length + (dep.backend_fn ? dep.inputs.length : 0) <= 1) return [result];
    return Array.isArray(result) ? result : [result];
  }

  // A gr.render run's events replace those of its previous run; listeners on blocks that stay
  // (a static button) find the old ones marked stale and ignore them.
  replaceRendered(renderId, dependencies) {
    this.rendered ??= new Map();
    for (const old of this.rendered.get(renderId) ?? []) old.stale = true;
    this.rendered.set(renderId, dependencies);
    this.dependencies = [...this.dependencies.filter((d) => !d.stale), ...dependencies];
    this.wire(dependencies);
    for (const dep of dependencies) if (dep.targets?.some(([, event]) => event === "load")) this.trigger(dep, null);
  }

  async trigger(dep, triggerId, eventData = null) {
    if (dep.stale) return;
    this.cancelTargets(dep);
    let jsValues = null;
    // js=True (Gradio's fn transpiled to JS) comes with no js_implementation: the server runs fn.
    if (typeof dep.js === "string") {
      try {
        jsValues = await this.runJs(dep);
      } catch (error) {
        toast("error", "Error", `The event's js function failed: ${error.message}`, null);
        this.followUp(dep, false);
        return;
      }
    }
    if (!dep.backend_fn) {
      if (jsValues !== null) this.applyOutputs({ dep }, jsValues);
      this.followUp(dep, true);
      return;
    }
    if (dep.connection === "stream" && this.sendChunk(dep, triggerId, eventData)) return;
    const running = this.active.get(dep.id) ?? new Set();
    this.active.set(dep.id, running);
    const mode = dep.trigger_mode ?? "once";
    if (running.size && mode === "once") return;
    if (running.size && mode === "always_last") {
      this.queuedLast = this.queuedLast ?? new Map();
      this.queuedLast.set(dep.id, { triggerId, eventData });
      return;
    }
    const run = { dep, values: null, eventId: null, done: false, cancelled: false };
    running.add(run);
    const data = jsValues ?? dep.inputs.map((id) => this.views.get(id)?.getValue() ?? null);
    this.setStatus(run, { text: "queued" });
    const sentData = dep.collects_event_data ? eventData : null;
    try {
      if (dep.queue === false) {
        // Gradio's queue=False: one POST to /run, its answer is the whole output.
        const output = await this.session.run(dep.api_name, data, triggerId, sentData);
        this.finish(run, !("error" in output), output);
        return;
      }
      run.eventId = await this.session.submit(dep.id, data, triggerId, (m) => this.onMessage(run, m), sentData);
      if (run.closeOnJoin && !run.done) closeStream(this.session, run.eventId);
      if (run.cancelled && !run.done) this.stop(run);
    } catch (error) {
      this.finish(run, false, { error: error.message, title: "Error" });
    }
  }

  // Where the spinner shows: `show_progress_on` when the event names blocks, else its outputs.
  progressViews(run) {
    const ids = run.dep.show_progress_on ?? run.dep.outputs;
    return ids.map((id) => this.views.get(id)).filter(Boolean);
  }

  outputViews(run) {
    return run.dep.outputs.map((id) => this.views.get(id)).filter(Boolean);
  }

  setStatus(run, status) {
    if (run.dep.show_progress === "hidden") return;
    const stop = run.dep.types?.generator ? () => this.stop(run) : null;
    for (const view of this.progressViews(run)) view.showStatus({ ...status, stop });
  }

  onMessage(run, message) {
    switch (message.msg) {
      case "estimation":
        this.setStatus(run, { text: message.rank ? `queue ${message.rank + 1}/${message.queue_size}` : "queued" });
        break;
      case "process_starts":
        this.setStatus(run, { text: "running" });
        break;
      case "progress":
        this.setStatus(run, progressText(message.progress_data));
        break;
      case "log":
        if (message.visible !== false) {
          toast(message.level ?? "info", message.title, message.log, message.duration ?? 10);
        }
        break;
      case "process_generating": {
        const data = message.output?.data ?? [];
        run.values = run.values === null ? data : data.map((edits, i) => applyDiff(run.values[i], edits));
        this.applyOutputs(run, run.values);
        this.setStatus(run, { text: "streaming" });
        break;
      }
      case "process_streaming": // a .stream() event's result for one chunk: whole values
        run.values = message.output?.data ?? [];
        this.applyOutputs(run, run.values);
        this.setStatus(run, { text: "streaming" });
        break;
      case "process_completed":
        this.finish(run, message.success, message.output ?? {}, message.title);
        break;
      case "unexpected_error":
        this.finish(run, false, { error: message.message });
        break;
      default:
        break;
    }
  }

  applyOutputs(run, values) {
    run.dep.outputs.forEach((id, i) => {
      const view = this.views.get(id);
      if (!view || view.type === "state" || i >= values.length) return;
      const value = values[i];
      if (isUpdate(value)) {
        const { __type__, ...props } = value;
        view.update(props);
      } else view.setValue(value);
    });
  }

  finish(run, success, output, title) {
    if (run.done) return;
    run.done = true;
    this.active.get(run.dep.id)?.delete(run);
    if (run.dep.connection === "stream") {
      // The server ended the stream (time limit, or no chunk for a while): stop recording.
      for (const [target, event] of run.dep.targets ?? []) if (event === "stream") this.views.get(target)?.handle?.streamEnded?.();
    }
    for (const view of this.progressViews(run)) view.showStatus(null);
    if (success && Array.isArray(output.data)) this.applyOutputs(run, output.data);
    if (success && output.render_config) this.onRender?.(output.render_config);
    if (success && run.dep.scroll_to_output) this.outputViews(run)[0]?.frame?.scrollIntoView?.({ behavior: "smooth" });
    // A State whose value the event changed fires its `.change` listeners.
    for (const id of output.changed_state_ids ?? []) this.views.get(id)?.emit("change");
    if (!success) {
      const message = output.error ?? "The event failed; the server logged the error.";
      if (output.visible !== false) toast("error", title ?? output.title ?? "Error", message, output.duration ?? null);
      for (const view of this.outputViews(run)) view.flashError();
    }
    this.followUp(run.dep, success);
    const again = this.queuedLast?.get(run.dep.id);
    if (again !== undefined) {
      this.queuedLast.delete(run.dep.id);
      this.trigger(run.dep, again.triggerId, again.eventData);
    }
  }

  followUp(dep, success) {
    for (const next of this.followers.get(dep.id) ?? []) {
      if (next.trigger_only_on_success && !success) continue;
      if (next.trigger_only_on_failure && success) continue;
      this.trigger(next, null);
    }
  }
}
