// Multipage apps (Gradio's demo.route): which page this URL shows, and the navbar. A Navbar
// component draws the links where it is placed; without one, an app of several pages gets a
// default navbar at the top, as in Gradio. Links are the pages shown in the navbar, then the
// Navbar's extra (name, path) pairs; a path is relative to the app's root or an http(s) URL.

import { allowedUrl } from "./sanitize.js";
import { el } from "./components/common.js";

// The page of `config` this URL shows (its path below `base`), with its layout and events.
export function currentPage(config, base) {
  const below = window.location.pathname.slice(new URL(base).pathname.length);
  const path = decodeURIComponent(below).replace(/\/+$/, "");
  const found = config.page?.[path] ? path : "";
  const page = config.page?.[found];
  return {
    path: found,
    layout: page?.layout ?? config.layout,
    dependencies: (deps) => (page ? deps.filter((d) => page.dependencies.includes(d.id)) : deps),
  };
}

// The links: [name, href, current] for each page in the navbar and each extra pair.
function links(pages, extra, mainName, current, base) {
  const out = [];
  for (const [path, name, shown] of pages ?? [["", "Home", true]]) {
    if (!shown) continue;
    if (path === "" && mainName === false) continue;
    const label = path === "" && typeof mainName === "string" ? mainName : name;
    out.push([label, new URL(path, base).href, path === current]);
  }
  for (const pair of extra ?? []) {
    if (!Array.isArray(pair) || pair.length < 2) continue;
    const [name, path] = pair;
    const href = /^https?:/i.test(String(path)) ? allowedUrl(String(path)) : new URL(String(path), base).href;
    out.push([String(name), href, false]);
  }
  return out;
}

function draw(nav, pages, extra, mainName, current, base) {
  nav.replaceChildren(
    ...links(pages, extra, mainName, current, base).map(([name, href, here]) =>
      el("a", { class: `webui-navbar-link${here ? " webui-navbar-current" : ""}`, href, text: name, "aria-current": here ? "page" : null }),
    ),
  );
}

// The Navbar component: its value is the extra (name, path) pairs, `pages` the app's pages.
export function navbar(props) {
  const base = new URL(".", window.location.href).href;
  const nav = el("nav", { class: "webui-navbar" });
  let value = props.value ?? null;
  const current = currentPage({ page: Object.fromEntries((props.pages ?? []).map(([p]) => [p, {}])) }, base).path;
  const render = () => draw(nav, props.pages, value, props.main_page_name ?? "Home", current, base);
  render();
  return {
    element: nav,
    frameless: true,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      render();
    },
    update(changed) {
      Object.assign(props, changed);
      render();
    },
  };
}

// The navbar Gradio shows for an app of several pages that has no Navbar on this page.
export function defaultNavbar(config, page, base) {
  const pages = config.pages ?? [];
  if (pages.length < 2) return null;
  const here = config.page?.[page.path]?.components ?? [];
  if (config.components.some((c) => c.type === "navbar" && here.includes(c.id))) return null;
  const nav = el("nav", { class: "webui-navbar webui-navbar-default" });
  draw(nav, pages, null, "Home", page.path, base);
  return nav;
}
