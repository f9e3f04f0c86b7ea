// Helpers shared by component modules: elements, the labelled frame, choice lists.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

// Gradio's `info=`: help text under the label, as text (never markup).
export function infoLine(props) {
  return props.info ? el("span", { class: "webui-info", text: props.info }) : null;
}

// Gradio's height, min_height and max_height (pixels for a number, else a CSS length): the
// element scrolls when its content is taller.
export function applyHeights(element, props) {
  const css = (size) => (size == null ? "" : typeof size === "number" ? `${size}px` : String(size));
  element.style.height = css(props.height);
  element.style.minHeight = css(props.min_height);
  element.style.maxHeight = css(props.max_height);
  if (props.height != null || props.max_height != null) element.style.overflowY = "auto";
}

// Whether Gradio's `buttons=` shows the named button; `shown` are the ones shown by default
// (buttons=None). Gradio 5's show_copy_button=True shows "copy" too.
export function hasButton(props, name, shown = []) {
  if (name === "copy" && props.show_copy_button) return true;
  return (props.buttons ?? shown).includes(name);
}

// A Copy button: puts `text()` on the clipboard and fires the block's `copy` event
// (gr.CopyData's value), as Gradio's copy buttons do.
export function copyButton(ctx, text, title = "Copy") {
  return el("button", {
    type: "button",
    class: "webui-copy",
    title,
    "aria-label": title,
    text: "⧉",
    onclick: async () => {
      const value = text();
      try {
        await navigator.clipboard?.writeText(value);
      } catch {
        // A page without clipboard access still fires the event with what would be copied.
      }
      ctx.emit("copy", { value });
    },
  });
}

// The gr.Button instances among Gradio's `buttons=`: toolbar buttons that fire the click
// listeners of the Button they stand for (which the server hid from the layout, as Gradio
// takes it out of its place).
export function customButtons(props, ctx) {
  return (props.buttons ?? [])
    .filter((button) => typeof button === "object" && button?.id != null)
    .map((button) =>
      el("button", {
        type: "button",
        class: `webui-button webui-button-${button.variant ?? "secondary"} webui-button-sm webui-toolbar-button`,
        text: button.value ?? "",
        onclick: () => ctx.block?.(button.id)?.emit("click"),
      }),
    );
}

// A block with a caption above its control; `frame.setLabel` follows label updates.
export function labeled(props, ...controls) {
  const caption = el("span", { class: "webui-label", text: props.label ?? "" });
  const frame = el("label", { class: "webui-field" }, caption, ...controls);
  frame.setLabel = (label, show = props.show_label) => {
    caption.textContent = label ?? "";
    caption.hidden = show === false || !label;
  };
  frame.setLabel(props.label);
  return frame;
}

// The caption for blocks whose control is not a single form field (lists, tables, media).
export function fieldset(props, ...controls) {
  const caption = el("span", { class: "webui-label", text: props.label ?? "" });
  const frame = el("div", { class: "webui-field", role: "group" }, caption, ...controls);
  frame.setLabel = (label, show = props.show_label) => {
    caption.textContent = label ?? "";
    caption.hidden = show === false || !label;
  };
  frame.setLabel(props.label);
  return frame;
}

// Choices arrive as [display, value] pairs; plain values are their own display.
export function choicePairs(choices) {
  return (choices ?? []).map((c) => (Array.isArray(c) ? c : [String(c), c]));
}

export function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// Uploads what the user picks in a file `picker` and hands the uploaded FileData list to
// `received`; an upload error shows as the app's error, and the picker is cleared either way.
export function onPick(picker, ctx, received) {
  picker.addEventListener("change", async () => {
    if (!picker.files.length) return;
    try {
      await received(await ctx.upload([...picker.files]));
    } catch (error) {
      ctx.error(error.message);
    } finally {
      picker.value = "";
    }
  });
}
