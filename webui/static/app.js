// The page: fetch /config, build the layout tree and its components, wire the event graph.

import { callServer } from "./component_server.js";
import { builtins } from "./components/index.js";
import { el, sameValue } from "./components/common.js";
import { EventRunner } from "./events.js";
import { addHead, footer, runPageJs } from "./extras.js";
import { translate, useTranslations } from "./i18n.js";
import { layouts } from "./layout.js";
import { currentPage, defaultNavbar } from "./navbar.js";
import { Session } from "./protocol.js";
import { toast } from "./toast.js";

const base = new URL(".", window.location.href).href;

// One block on the page: its frame (visibility, classes, status), its component or layout
// handle, and its event listeners.
class View {
  constructor(config) {
    this.id = config.id;
    this.type = config.type;
    // A block's own `id` prop (Gradio's Tab and Step ids, which `selected` names) wins.
    this.props = { id: config.id, ...config.props };
    this.listeners = new Map();
    this.handle = null; // component handle, for components
    this.layout = null; // layout handle, for layout blocks
    this.frame = null;
    this.status = null;
    this.updated = new Set(); // props an event changed, for preserved_by_key
  }

  on(event, listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, []);
    this.listeners.get(event).push(listener);
  }

  // `data` is the event's `event_data` (SelectData's index and value, ...), sent to the server.
  emit(event, data = null) {
    for (const listener of this.listeners.get(event) ?? []) listener(data);
  }

  getValue() {
    return this.handle ? this.handle.getValue() : null;
  }

  // Values set by event outputs fire `change`, as user edits do.
  setValue(value) {
    if (!this.handle) return;
    const before = this.handle.getValue();
    this.handle.setValue(translate(value)); // gr.I18n text an event returned
    if (!sameValue(before, this.handle.getValue())) this.emit("change");
  }

  update(props) {
    const { value, visible, elem_classes: classes, ...rest } = translate(props);
    if (visible !== undefined) this.setVisible(visible);
    if (classes !== undefined) this.setClasses(classes);
    Object.assign(this.props, rest);
    for (const name of Object.keys(rest)) this.updated.add(name);
    if (Object.keys(rest).length) (this.handle ?? this.layout)?.update?.(rest);
    if (value !== undefined) this.setValue(value);
  }

  setVisible(visible) {
    this.props.visible = visible;
    if (this.frame) this.frame.hidden = visible === false;
  }

  setClasses(classes) {
    const list = Array.isArray(classes) ? classes : [classes].filter(Boolean);
    this.baseClass ??= `${this.frame.className} webui-block webui-block-${this.type}`.trim();
    this.frame.className = this.baseClass;
    this.frame.classList.add(...list);
  }

  // status: null to clear, or {text, fraction, stop}; shown as a pill on the block. Its
  // elements are kept between updates so the Stop button stays clickable while text streams.
  showStatus(status) {
    if (!this.frame) return;
    this.frame.classList.toggle("webui-pending", Boolean(status));
    if (!status) {
      this.status?.element.remove();
      this.status = null;
      return;
    }
    if (!this.status) {
      const text = el("span", { class: "webui-status-text" });
      const bar = el("progress", { class: "webui-progress", max: 1 });
      const stop = el("button", { type: "button", class: "webui-stop", text: "Stop" });
      stop.addEventListener("click", () => this.status?.onStop?.());
      this.status = { element: el("div", { class: "webui-status", role: "status" }, text, bar, stop), text, bar, stop };
      this.frame.append(this.status.element);
    }
    this.status.text.textContent = status.text;
    this.status.bar.hidden = status.fraction == null;
    if (status.fraction != null) this.status.bar.value = status.fraction;
    this.status.stop.hidden = !status.stop;
    this.status.onStop = status.stop;
  }

  flashError() {
    this.frame?.classList.add("webui-error");
    setTimeout(() => this.frame?.classList.remove("webui-error"), 4000);
  }
}

// Gradio's rule for `interactive=None`: a component is editable when some event reads it,
// or when no event writes it.
function defaultInteractive(config) {
  const inputs = new Set(config.dependencies.flatMap((d) => d.inputs));
  const outputs = new Set(config.dependencies.flatMap((d) => d.outputs));
  return (id) => inputs.has(id) || !outputs.has(id);
}

async function loadCustom(modules) {
  const loaded = {};
  for (const [type, url] of Object.entries(modules)) {
    const module = await import(new URL(url, base).href);
    if (typeof module.create !== "function") {
      throw new Error(`the module for custom component "${type}" does not export create(props, ctx)`);
    }
    loaded[type] = module.create;
  }
  return loaded;
}

function buildView(node, configs, factories, ctxFor, views) {
  const config = configs.get(node.id) ?? { id: node.id, type: "blocks", props: {} };
  const view = new View(config);
  views.set(view.id, view);
  const makeLayout = layouts[view.type];
  const create = factories[view.type];
  if (makeLayout || (node.children && !create)) {
    view.layout = (makeLayout ?? layouts.group)(view.props, view);
    view.frame = view.layout.element;
    const children = (node.children ?? []).map((child) => buildView(child, configs, factories, ctxFor, views));
    for (const child of children) if (child.frame) view.layout.slot.append(child.frame);
    view.layout.attach?.(children);
  } else {
    view.handle = create
      ? create(view.props, ctxFor(view))
      : { element: el("div", { class: "webui-unsupported", text: `Unsupported component: ${view.type}` }), getValue: () => null, setValue() {} };
    view.frame = view.handle.element ? el("div", {}, view.handle.element) : null;
    // A component holding blocks (gr.HTML's @children) puts them in its `slot`.
    const children = (node.children ?? []).map((child) => buildView(child, configs, factories, ctxFor, views));
    for (const child of children) if (child.frame) (view.handle.slot ?? view.frame)?.append(child.frame);
  }
  if (view.frame) {
    view.frame.dataset.blockId = view.id;
    view.frame.dataset.testid = view.type;
    if (view.props.elem_id) view.frame.id = view.props.elem_id;
    if (view.props.scale != null && !view.layout) view.frame.style.flexGrow = view.props.scale;
    if (view.props.min_width != null && !view.layout) {
      view.frame.style.minWidth = `min(${view.props.min_width}px, 100%)`;
    }
    view.setClasses(view.props.elem_classes ?? []);
    view.setVisible(view.props.visible);
  }
  return view;
}

async function boot() {
  const root = document.getElementById("webui-app");
  // A deep link (gr.DeepLinkButton) names a session snapshot the server puts into the config.
  const deepLink = new URLSearchParams(window.location.search).get("deep_link");
  const reply = await fetch(new URL(deepLink ? `config?deep_link=${encodeURIComponent(deepLink)}` : "config", base));
  if (reply.status === 401) {
    const refusal = await reply.json().catch(() => ({}));
    if (refusal.auth_required) {
      const { showLogin } = await import("./login.js");
      showLogin(root, base, refusal.detail?.auth_message);
      return;
    }
  }
  if (!reply.ok) throw new Error(`could not load /config: ${reply.status}`);
  const raw = await reply.json();
  useTranslations(raw.i18n_translations); // gr.I18n: marked text in the browser's language
  const config = translate(raw);
  document.title = config.title ?? document.title;
  if (new URLSearchParams(window.location.search).get("__theme") === "dark") {
    document.documentElement.classList.add("dark");
  }
  if (config.css) document.head.append(el("style", { id: "webui-custom-css", text: config.css }));
  await addHead(config.head);
  const modules = JSON.parse(document.getElementById("webui-custom-modules")?.textContent || "{}");
  const factories = { ...builtins, ...(await loadCustom(modules)) };
  const session = new Session(base);
  const interactive = defaultInteractive(config);
  const configs = new Map(config.components.map((c) => [c.id, c]));
  for (const c of config.components) {
    if (c.props.interactive == null) c.props = { ...c.props, interactive: interactive(c.id) };
  }
  const ctxFor = (view) => ({
    emit: (event, data = null) => view.emit(event, data),
    upload: (files) => session.upload(files),
    fileUrl: (fileData) => session.fileUrl(fileData),
    error: (message) => toast("error", "Error", message),
    server: (fnName, data) => callServer(session, view.id, fnName, data),
    block: (id) => views.get(id), // another block's view: a toolbar's gr.Button clicks it
  });
  const views = new Map();
  const page = currentPage(config, base); // a multipage app's page at this URL (navbar.js)
  const top = buildView(page.layout, configs, factories, ctxFor, views);
  root.replaceChildren(...[defaultNavbar(config, page, base), top.frame, footer(config.footer_links, base)].filter(Boolean));
  root.classList.toggle("webui-fill-width", Boolean(config.fill_width));
  const runner = new EventRunner({ ...config, dependencies: page.dependencies(config.dependencies) }, views, session);
  // A gr.render event's output: its Column rebuilt from the new blocks, its events wired.
  runner.onRender = (rendered) => {
    const decide = defaultInteractive({ dependencies: [...config.dependencies, ...rendered.dependencies] });
    for (const c of rendered.components) {
      if (c.props.interactive == null) c.props = { ...c.props, interactive: decide(c.id) };
      configs.set(c.id, c);
    }
    const old = views.get(rendered.layout.id);
    // A keyed component keeps from the previous render the props its preserved_by_key names
    // (Gradio's default: its value); a prop other than the value only once an event set it.
    const kept = new Map();
    for (const view of views.values()) {
      if (view.props?.key == null || !view.handle || !old?.frame?.contains(view.frame)) continue;
      const props = {};
      for (const name of view.props.preserved_by_key ?? ["value"]) {
        if (name === "value") props.value = view.getValue();
        else if (view.updated.has(name)) props[name] = view.props[name];
      }
      kept.set(view.props.key, props);
    }
    for (const c of rendered.components) {
      if (c.props.key != null && kept.has(c.props.key)) c.props = { ...c.props, ...kept.get(c.props.key) };
    }
    const fresh = buildView(rendered.layout, configs, factories, ctxFor, views);
    if (old?.frame && fresh.frame) old.frame.replaceWith(fresh.frame);
    runner.replaceRendered(rendered.render_id, rendered.dependencies);
  };
  runner.wire();
  runner.start();
  if (config.deep_link_state === "invalid") toast("error", "Error", "This deep link is not valid (it may have expired).");
  root.dataset.ready = "true"; // lets tests and embedders wait for a built page
  window.webui = { config, views, session, runner };
  await runPageJs(config.js);
}

boot().catch((error) => {
  const root = document.getElementById("webui-app");
  root.replaceChildren(el("p", { class: "webui-fatal", text: `This app failed to load: ${error.message}` }));
  console.error(error);
});
