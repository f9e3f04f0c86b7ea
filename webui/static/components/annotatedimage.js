// AnnotatedImage: a base image with one transparent PNG layer per annotation ({image, annotations:
// [{image, label}]}). The legend names each label in its colour; hovering one dims the others,
// clicking one fires `select` with its index and label, as Gradio's legend does.

import { el, fieldset } from "./common.js";

const DEFAULT_COLOR = "#ff0000"; // the server colours unmapped labels red

export function annotatedimage(props, ctx) {
  let value = props.value ?? null;
  const stage = el("div", { class: "webui-annotated" });
  stage.style.cssText = "position:relative;display:inline-block;max-width:100%;line-height:0";
  const legend = el("div", { class: "webui-plot-legend webui-annotated-legend" });
  const fullscreen = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Fullscreen" });
  fullscreen.addEventListener("click", () => stage.requestFullscreen?.());

  const highlight = (index) => {
    stage.querySelectorAll(".webui-annotation").forEach((layer, i) => {
      layer.style.opacity = index == null || i === index ? "1" : "0.15";
    });
  };
  const draw = () => {
    if (!value?.image) {
      stage.replaceChildren();
      legend.replaceChildren();
      fullscreen.hidden = true;
      return;
    }
    const base = el("img", { class: "webui-annotated-base", src: ctx.fileUrl(value.image), alt: props.label ?? "image" });
    base.style.cssText = "display:block;max-width:100%";
    if (props.height != null) base.style.height = typeof props.height === "number" ? `${props.height}px` : props.height;
    if (props.width != null) base.style.width = typeof props.width === "number" ? `${props.width}px` : props.width;
    const layers = value.annotations.map((annotation) => {
      const layer = el("img", { class: "webui-annotation", src: ctx.fileUrl(annotation.image), alt: annotation.label, "data-label": annotation.label });
      layer.style.cssText = "position:absolute;inset:0;width:100%;height:100%;pointer-events:none;transition:opacity .15s";
      return layer;
    });
    stage.replaceChildren(base, ...layers);
    legend.hidden = props.show_legend === false;
    legend.replaceChildren(
      ...value.annotations.map((annotation, index) => {
        const swatch = el("span", { class: "webui-swatch" });
        swatch.style.background = props.color_map?.[annotation.label] ?? DEFAULT_COLOR;
        const item = el("button", { type: "button", class: "webui-annotated-label" }, swatch, annotation.label);
        item.addEventListener("mouseenter", () => highlight(index));
        item.addEventListener("mouseleave", () => highlight(null));
        item.addEventListener("click", () => ctx.emit("select", { index, value: annotation.label, selected: true }));
        return item;
      }),
    );
    fullscreen.hidden = !(props.buttons ?? ["fullscreen"]).includes("fullscreen");
  };
  const element = fieldset(props, stage, legend, el("div", { class: "webui-media-controls" }, fullscreen));
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      draw();
    },
    update(changed) {
      Object.assign(props, changed);
      if ("label" in changed) element.setLabel(changed.label);
      draw();
    },
  };
}
