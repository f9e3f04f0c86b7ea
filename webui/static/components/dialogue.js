// Dialogue: conversation lines (speaker + text). With speakers, each line has a speaker menu
// and a text field; `ui_mode` "text" edits the formatted text in a textarea instead, "both"
// adds a switch between the two (the server's `format`/`unformat` convert). Without speakers
// the value is one string in a textarea. Typing ":" offers the `tags`; Enter in a line or the
// submit button fires `submit`. Read-only, lines show their speaker in its colour. All text is text.

import { el, fieldset, sameValue } from "./common.js";

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

function speakerColor(props, speaker) {
  const mapped = props.color_map?.[speaker];
  if (mapped) return mapped;
  const index = (props.speakers ?? []).indexOf(speaker);
  return PALETTE[(index < 0 ? 0 : index) % PALETTE.length];
}

// A menu of `tags` under `field`, opened by typing ":"; picking one replaces ":query".
function tagMenu(field, tags, onPick) {
  const menu = el("ul", { class: "webui-dialogue-tags", role: "listbox" });
  menu.hidden = true;
  const query = () => {
    const before = field.value.slice(0, field.selectionStart ?? field.value.length);
    const match = /:([^\s:]*)$/.exec(before);
    return match ? { start: before.length - match[0].length, text: match[1] } : null;
  };
  const pick = (tag) => {
    const found = query();
    if (!found) return;
    const end = field.selectionStart ?? field.value.length;
    field.value = `${field.value.slice(0, found.start)}${tag}${field.value.slice(end)}`;
    menu.hidden = true;
    field.focus();
    onPick();
  };
  field.addEventListener("input", () => {
    const found = tags.length ? query() : null;
    const shown = found ? tags.filter((tag) => tag.toLowerCase().includes(found.text.toLowerCase())) : [];
    menu.replaceChildren(
      ...shown.map((tag) => el("li", { role: "option", class: "webui-dialogue-tag", text: tag, onmousedown: (event) => {
        event.preventDefault();
        pick(tag);
      } })),
    );
    menu.hidden = !shown.length;
  });
  // With the menu open, Enter picks its first tag and Escape closes it.
  field.addEventListener("keydown", (event) => {
    if (menu.hidden) return;
    if (event.key === "Escape") menu.hidden = true;
    if (event.key === "Enter" && menu.firstChild) {
      event.preventDefault();
      pick(menu.firstChild.textContent);
    }
  });
  field.addEventListener("blur", () => (menu.hidden = true));
  return menu;
}

export function dialogue(props, ctx) {
  const speakers = props.speakers ?? [];
  const hasSpeakers = speakers.length > 0;
  let interactive = props.interactive !== false;
  let mode = !hasSpeakers || props.ui_mode === "text" ? "text" : "dialogue";
  let value = props.value ?? (hasSpeakers ? [] : "");
  const lines = el("div", { class: "webui-dialogue-lines" });
  const textarea = el("textarea", { class: "webui-dialogue-text", rows: 6, placeholder: props.placeholder ?? null });
  const textMenu = tagMenu(textarea, props.tags ?? [], () => textarea.dispatchEvent(new Event("change")));
  const textPane = el("div", { class: "webui-dialogue-textpane" }, textarea, textMenu);
  const add = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "+ Add line" });
  const modeSwitch = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm webui-dialogue-mode" });
  const copy = el("button", { type: "button", class: "webui-button webui-button-secondary webui-button-sm", text: "Copy" });
  const submitLabel = props.submit_btn === true ? "Submit" : props.submit_btn || null;
  const submit = el("button", { type: "button", class: "webui-button webui-button-primary webui-button-sm", text: submitLabel ?? "" });
  const toolbar = el("div", { class: "webui-dialogue-toolbar" }, add, modeSwitch, copy, submit);
  const info = el("div", { class: "webui-info", text: props.info ?? "" });
  const element = fieldset(props, info, lines, textPane, toolbar);

  const changed = () => {
    ctx.emit("input");
    ctx.emit("change");
  };
  const asLines = () => (Array.isArray(value) ? value : []);

  function lineRow(line, index) {
    const color = speakerColor(props, line.speaker);
    if (!interactive) {
      return el("div", { class: "webui-dialogue-line" },
        el("span", { class: "webui-dialogue-speaker", style: `border-color: ${color}; color: ${color}`, text: line.speaker }),
        el("span", { class: "webui-dialogue-words", text: line.text }));
    }
    const menu = el("select", { class: "webui-dialogue-speaker", style: `border-color: ${color}`, "aria-label": "Speaker" },
      ...[...new Set([...speakers, line.speaker].filter((s) => s !== ""))].map((s) => el("option", { value: s, text: s, selected: s === line.speaker })));
    const text = el("input", { type: "text", class: "webui-dialogue-words", placeholder: props.placeholder ?? null, "aria-label": "Line" });
    text.value = line.text;
    const store = () => {
      value = asLines().map((old, i) => (i === index ? { speaker: menu.value, text: text.value } : old));
    };
    menu.addEventListener("change", () => {
      store();
      menu.style.borderColor = speakerColor(props, menu.value);
      changed();
    });
    text.addEventListener("input", () => {
      store();
      ctx.emit("input");
    });
    text.addEventListener("change", () => ctx.emit("change"));
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && textMenuHidden(row)) {
        event.preventDefault();
        ctx.emit("submit");
      }
    });
    const remove = el("button", { type: "button", class: "webui-dialogue-remove", "aria-label": "Remove line", text: "×" });
    remove.addEventListener("click", () => {
      value = asLines().filter((_, i) => i !== index);
      draw();
      changed();
    });
    const tags = tagMenu(text, props.tags ?? [], () => {
      store();
      changed();
    });
    const row = el("div", { class: "webui-dialogue-line" }, menu, el("span", { class: "webui-dialogue-field" }, text, tags), remove);
    return row;
  }
  const textMenuHidden = (row) => row.querySelector(".webui-dialogue-tags")?.hidden !== false;

  function draw() {
    const shown = mode === "dialogue";
    lines.hidden = !shown;
    textPane.hidden = shown;
    if (shown) lines.replaceChildren(...asLines().map(lineRow));
    else textarea.value = typeof value === "string" ? value : textarea.value;
    textarea.readOnly = !interactive;
    add.hidden = !shown || !interactive;
    add.disabled = props.max_lines != null && asLines().length >= props.max_lines;
    modeSwitch.hidden = !hasSpeakers || props.ui_mode !== "both";
    modeSwitch.textContent = shown ? "Edit as text" : "Edit as dialogue";
    copy.hidden = !(props.buttons ?? []).includes("copy");
    submit.hidden = !submitLabel || !interactive;
    info.hidden = !props.info || !interactive;
    if (props.autoscroll !== false) lines.scrollTop = lines.scrollHeight;
  }

  // Text mode with speakers: the formatted text, parsed back into lines when edited.
  async function showText() {
    textarea.value = await ctx.server("format", value);
  }
  async function readText() {
    if (!hasSpeakers) {
      value = textarea.value;
      return;
    }
    value = await ctx.server("unformat", { text: textarea.value });
  }

  add.addEventListener("click", () => {
    value = [...asLines(), { speaker: speakers[asLines().length % speakers.length], text: "" }];
    draw();
    changed();
    lines.querySelector(".webui-dialogue-line:last-child input")?.focus();
  });
  modeSwitch.addEventListener("click", async () => {
    try {
      if (mode === "dialogue") {
        await showText();
        mode = "text";
      } else {
        await readText();
        mode = "dialogue";
      }
    } catch (error) {
      ctx.error(error.message);
    }
    draw();
  });
  copy.addEventListener("click", async () => {
    try {
      const text = hasSpeakers ? await ctx.server("format", value) : String(value ?? "");
      await navigator.clipboard?.writeText(text);
    } catch (error) {
      ctx.error(error.message);
    }
  });
  submit.addEventListener("click", () => ctx.emit("submit"));
  textarea.addEventListener("input", () => {
    if (!hasSpeakers) value = textarea.value;
    ctx.emit("input");
  });
  textarea.addEventListener("change", async () => {
    try {
      await readText();
    } catch (error) {
      ctx.error(error.message);
    }
    ctx.emit("change");
  });

  if (mode === "text" && hasSpeakers) showText().catch((error) => ctx.error(error.message));
  draw();
  if (props.autofocus) queueMicrotask(() => element.querySelector("input, textarea")?.focus());

  return {
    element,
    getValue: () => value,
    setValue(next) {
      const fresh = next ?? (hasSpeakers ? [] : "");
      if (sameValue(fresh, value)) return;
      value = fresh;
      if (mode === "text" && hasSpeakers) showText().catch((error) => ctx.error(error.message));
      draw();
    },
    update(changedProps) {
      Object.assign(props, changedProps);
      if ("interactive" in changedProps) interactive = changedProps.interactive !== false;
      if ("label" in changedProps) element.setLabel(changedProps.label);
      draw();
    },
  };
}
