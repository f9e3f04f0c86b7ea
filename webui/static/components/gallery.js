// Gallery: a grid of images and videos with captions (GalleryData items); clicking one fires
// `select` with its index; interactive galleries upload images/videos and can be cleared.

import { el, fieldset, onPick } from "./common.js";

function media(item, ctx) {
  if (item.video) return el("video", { class: "webui-gallery-media", controls: true, src: ctx.fileUrl(item.video) });
  const image = item.image ?? {};
  return el("img", { class: "webui-gallery-media", src: ctx.fileUrl(image), alt: item.caption ?? image.orig_name ?? "" });
}

export function gallery(props, ctx) {
  let value = props.value ?? [];
  let interactive = props.interactive;
  const grid = el("div", { class: "webui-gallery" });
  grid.style.gridTemplateColumns = `repeat(${props.columns ?? 2}, minmax(0, 1fr))`;
  const picker = el("input", { type: "file", class: "webui-upload", accept: "image/*,video/*", multiple: true });
  const clear = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Clear" });
  const controls = el("div", { class: "webui-media-controls" }, picker, clear);
  const draw = () => {
    grid.replaceChildren(
      ...value.map((item, index) => {
        const figure = el("figure", { class: "webui-gallery-item", tabindex: "0" }, media(item, ctx));
        if (item.caption != null) figure.append(el("figcaption", { text: item.caption }));
        figure.addEventListener("click", () =>
          ctx.emit("select", { index, value: item, selected: true }),
        );
        return figure;
      }),
    );
    controls.hidden = !interactive;
  };
  onPick(picker, ctx, (uploaded) => {
    const items = uploaded.map((file) =>
      (file.mime_type ?? "").startsWith("video/") ? { video: file, caption: null } : { image: file, caption: null },
    );
    value = [...value, ...items];
    draw();
    ctx.emit("upload");
    ctx.emit("change");
  });
  clear.addEventListener("click", () => {
    value = [];
    draw();
    ctx.emit("change");
  });
  const element = fieldset(props, grid, controls);
  draw();
  return {
    element,
    getValue: () => (value.length ? value : null),
    setValue(next) {
      value = next ?? [];
      draw();
    },
    update(changed) {
      if ("interactive" in changed) interactive = changed.interactive;
      if ("label" in changed) element.setLabel(changed.label);
      if ("columns" in changed) grid.style.gridTemplateColumns = `repeat(${changed.columns ?? 2}, minmax(0, 1fr))`;
      draw();
    },
  };
}
