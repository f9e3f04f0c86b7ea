// gr.HTML: the app's own markup from `html_template` and `css_template` (JavaScript template
// strings over the props), its `js_on_load` run once with Gradio's helpers, and, when blocks
// were made inside it, those blocks in place of `@children`.
//
// Everything here is author-trusted, as in Gradio: the templates and code come from the app,
// never from a user (see webui/README.md, "Untrusted content").

import { el, fieldset } from "./common.js";

let scopes = 0; // a page-unique id per block, to scope its CSS

// min_height and max_height: pixels for a number, else a CSS length; taller content scrolls.
function applyHeights(element, props) {
  const css = (size) => (size == null ? "" : typeof size === "number" ? `${size}px` : String(size));
  element.style.minHeight = css(props.min_height);
  element.style.maxHeight = css(props.max_height);
  if (props.max_height != null) element.style.overflowY = "auto";
}

// `${...}` in `template`, evaluated with `value`, `props` and every prop by name in scope.
function fill(template, values) {
  const names = Object.keys(values).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
  const body = `return \`${template.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\`;`;
  return new Function("props", ...names, body)(values, ...names.map((name) => values[name]));
}

// Gradio's `head=`: its scripts (each src once per page) and stylesheets, loaded before
// js_on_load runs.
async function loadHead(markup) {
  const parsed = new DOMParser().parseFromString(`<head>${markup}</head>`, "text/html");
  const waits = [];
  for (const node of parsed.head.children) {
    const src = node.getAttribute("src");
    const href = node.getAttribute("href");
    if (src && document.head.querySelector(`script[src="${CSS.escape(src)}"]`)) continue;
    if (href && document.head.querySelector(`link[href="${CSS.escape(href)}"]`)) continue;
    const copy = document.createElement(node.tagName.toLowerCase());
    for (const { name, value } of node.attributes) copy.setAttribute(name, value);
    copy.textContent = node.textContent;
    if (src) {
      waits.push(new Promise((resolve) => {
        copy.addEventListener("load", resolve);
        copy.addEventListener("error", resolve); // a missing library: js_on_load reports it
      }));
    }
    document.head.append(copy); // a script element made here runs, unlike one from innerHTML
  }
  await Promise.all(waits);
}

export function html(props, ctx) {
  const scope = `webui-html-${(scopes += 1)}`;
  const body = el("div", { class: `webui-html${props.apply_default_css !== false ? " webui-prose" : ""}`, "data-webui-html": scope });
  const style = el("style");
  const slot = el("div", { class: "webui-html-children" }); // the blocks made inside, kept across renders
  applyHeights(body, props);
  if (props.padding) body.style.padding = "var(--block-padding)";
  const element = props.container ? fieldset(props, body) : body;
  const values = { ...(props.props ?? {}), value: props.value ?? null, label: props.label ?? null };
  const watchers = [];

  const render = () => {
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 4;
    const markup = fill(props.html_template ?? "${value}", values);
    const [before, ...rest] = String(markup).split("@children");
    body.innerHTML = before + (rest.length ? '<div data-webui-children=""></div>' + rest.join("@children") : "");
    body.querySelector("[data-webui-children]")?.replaceWith(slot);
    body.prepend(style);
    const css = fill(props.css_template ?? "", values);
    style.textContent = css.trim() ? `[data-webui-html="${scope}"] {\n${css}\n}` : "";
    if (props.autoscroll && atBottom) body.scrollTop = body.scrollHeight;
  };

  const changed = (names) => {
    render();
    for (const [watched, callback] of watchers) if (names.some((name) => watched.includes(name))) callback();
  };

  // `props` in js_on_load: reading gives the current values; setting one re-renders, and a new
  // `value` is the block's value, as if the user had entered it.
  const live = new Proxy(values, {
    set(target, name, next) {
      target[name] = next;
      changed([name]);
      if (name === "value") ctx.emit("change");
      return true;
    },
  });

  const helpers = {
    element: body,
    props: live,
    trigger: (event, data = null) => ctx.emit(event, data),
    upload: async (file) => {
      const [data] = await ctx.upload([file]);
      return { path: data.path, url: ctx.fileUrl(data) };
    },
    watch: (names, callback) => watchers.push([Array.isArray(names) ? names : [names], callback]),
    // server_functions: `await server.name(...args)` runs the Python function, gives its result.
    server: Object.fromEntries((props.server_fns ?? []).map((name) => [name, (...args) => ctx.server(name, args)])),
  };

  render();
  const start = async () => {
    if (props.head) await loadHead(props.head);
    if (!props.js_on_load) return;
    try {
      new Function(...Object.keys(helpers), props.js_on_load)(...Object.values(helpers));
    } catch (error) {
      ctx.error(`gr.HTML js_on_load failed: ${error.message}`);
    }
  };
  // Once the block is in the page, as Gradio runs it after mounting (a tab not shown yet waits).
  const whenMounted = () => (body.isConnected ? start() : requestAnimationFrame(whenMounted));
  requestAnimationFrame(whenMounted);

  return {
    element,
    slot,
    frameless: !props.container,
    getValue: () => values.value,
    setValue(next) {
      values.value = next ?? null;
      changed(["value"]);
    },
    update(next) {
      if ("props" in next) Object.assign(values, next.props ?? {});
      for (const key of ["html_template", "css_template"]) if (key in next) props[key] = next[key];
      if ("label" in next && element.setLabel) element.setLabel(next.label);
      changed(Object.keys(next.props ?? next));
    },
  };
}
