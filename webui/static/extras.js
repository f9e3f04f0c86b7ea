// launch()'s page extras: `head` HTML in <head>, the `js` function run once the page is
// built, and the footer with the `footer_links` Gradio names ("api", "gradio", "settings").
import { el } from "./components/common.js";

// HTML given to launch(head=...): the app's own markup, like `css`. Scripts parsed from HTML
// do not run, so each is re-created to run as the app wrote it (in order, as Gradio does).
export async function addHead(head) {
  if (!head) return;
  const template = document.createElement("template");
  template.innerHTML = head;
  for (const node of [...template.content.childNodes]) {
    if (node.nodeName !== "SCRIPT") {
      document.head.append(node);
      continue;
    }
    const script = document.createElement("script");
    for (const { name, value } of node.attributes) script.setAttribute(name, value);
    script.textContent = node.textContent;
    const loaded = script.src && !script.async ? new Promise((done) => { script.onload = script.onerror = done; }) : null;
    document.head.append(script);
    if (loaded) await loaded; // a later script may use what this one defines
  }
}

// launch(js=...): the source of a JavaScript function, called once with no arguments.
export async function runPageJs(js) {
  if (!js) return;
  try {
    const fn = new Function(`return (${js});`)();
    if (typeof fn === "function") await fn();
  } catch (error) {
    console.error("launch(js=...) failed:", error);
  }
}

export function footer(links, base) {
  const items = [];
  for (const link of links ?? []) {
    if (link === "api") {
      items.push(el("a", { href: new URL("gradio_api/info", base).href, target: "_blank", text: "Use via API" }));
    } else if (link === "gradio") {
      items.push(el("span", { text: "Built with webui" }));
    } else if (link === "settings") {
      const dark = document.documentElement.classList.contains("dark");
      const url = new URL(window.location.href);
      if (dark) url.searchParams.delete("__theme");
      else url.searchParams.set("__theme", "dark");
      items.push(el("a", { href: url.href, text: dark ? "Light theme" : "Dark theme" }));
    }
  }
  if (!items.length) return null;
  const bar = el("footer", { class: "webui-footer" });
  items.forEach((item, i) => bar.append(...(i ? [el("span", { text: " · " }), item] : [item])));
  return bar;
}
