// Chatbot: a list of messages {role, content, metadata?, options?}. Content is Markdown text, a
// file ({file: FileData} or a FileData itself), a component ({component, value}), or a list of
// parts {type: "text"|"file"|"component", ...}. A message whose metadata has a title is a
// thought: a collapsible block (open while its status is "pending") showing its log and
// duration; thoughts with a parent_id nest inside the thought of that id.

import { renderMarkdown } from "../markdown.js";
import { allowedUrl } from "../sanitize.js";
import { el, fieldset } from "./common.js";

function isFileData(x) {
  return x && typeof x === "object" && ("path" in x || "url" in x);
}

function renderFile(file, view) {
  const url = view.fileUrl(file);
  const mime = file.mime_type ?? "";
  const name = file.orig_name ?? String(file.path ?? "file").split(/[\\/]/).pop();
  if (mime.startsWith("image/") || /\.(png|jpe?g|gif|webp|svg)$/i.test(name)) {
    return el("img", { class: "webui-chat-image", src: url, alt: file.alt_text ?? name });
  }
  if (mime.startsWith("audio/")) return el("audio", { controls: true, src: url });
  if (mime.startsWith("video/")) return el("video", { controls: true, src: url });
  // A file link's URL is the app's, but goes through the same policy as a message's links.
  return el("a", { href: allowedUrl(url), download: name, target: "_blank", rel: "noopener" }, name);
}

// Message text is untrusted (a model's reply, a user's message): sanitized Markdown, or with
// render_markdown=False plain text.
function renderText(text, view) {
  const box = el("div", { class: "webui-prose" });
  if (!view.markdown) {
    box.style.whiteSpace = "pre-wrap";
    box.textContent = text;
  } else box.append(renderMarkdown(text, { lineBreaks: view.lineBreaks }));
  return box;
}

function renderContent(content, view) {
  if (content == null) return [];
  if (typeof content === "string") return [renderText(content, view)];
  if (Array.isArray(content)) return content.flatMap((part) => renderContent(part, view));
  if (content.type === "text") return renderContent(content.text ?? "", view);
  if (content.type === "file" || content.file) return [renderFile(content.file, view)];
  if (isFileData(content)) return [renderFile(content, view)];
  if (content.component) {
    const values = Array.isArray(content.value) ? content.value : [content.value];
    if (values.length && values.every(isFileData)) return values.map((file) => renderFile(file, view));
    return [el("pre", { class: "webui-chat-component", text: JSON.stringify(content.value, null, 2) })];
  }
  return [el("pre", { text: JSON.stringify(content, null, 2) })];
}

// Plain text of a message, for copying: its text parts, and file names.
function plainText(content) {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map(plainText).filter(Boolean).join("\n");
  if (content.type === "text") return content.text ?? "";
  const file = content.file ?? (isFileData(content) ? content : null);
  return file ? (file.orig_name ?? file.url ?? "") : "";
}

function thoughtTitle(metadata) {
  const summary = el("summary", { class: "webui-thought-title" });
  if (metadata.status === "pending") summary.append(el("span", { class: "webui-thought-pending", text: "⏳ " }));
  summary.append(el("span", { text: metadata.title }));
  const details = [metadata.log, metadata.duration != null ? `(${Number(metadata.duration).toFixed(1)}s)` : null];
  const extra = details.filter((d) => d != null && d !== "").join(" ");
  if (extra) summary.append(el("span", { class: "webui-thought-log", text: ` ${extra}`, style: "opacity: 0.7" }));
  return summary;
}

// A thought is open while pending or without a status, closed once done, as in Gradio; the
// user's own toggling is kept across redraws (by its place in the conversation).
function renderThought(message, body, view, index) {
  const status = message.metadata.status;
  const open = view.toggled.has(index) ? view.toggled.get(index) : status !== "done";
  const details = el("details", { class: "webui-thought", open, "data-index": String(index) });
  details.addEventListener("toggle", () => view.toggled.set(index, details.open));
  details.append(thoughtTitle(message.metadata), el("div", { class: "webui-thought-body", style: "padding-left: 1em" }, ...body));
  return details;
}

function flatMessages(value) {
  const messages = Array.isArray(value) ? value : [];
  return messages.flatMap((message) =>
    // Pairs [user, assistant] are the older format; each half becomes a message.
    Array.isArray(message)
      ? message.map((content, i) => ({ role: i ? "assistant" : "user", content })).filter((m) => m.content != null)
      : [message],
  );
}

export function chatbot(props, ctx) {
  const log = el("div", { class: "webui-chat" });
  const element = fieldset(props, log);
  const size = (x) => (typeof x === "number" ? `${x}px` : x);
  if (props.height) log.style.maxHeight = size(props.height);
  if (props.max_height) log.style.maxHeight = size(props.max_height);
  if (props.min_height) log.style.minHeight = size(props.min_height);
  if (props.resizable) {
    log.style.resize = "vertical";
    log.style.overflow = "auto";
  }
  if (props.rtl) log.dir = "rtl";
  let value = props.value ?? [];
  let feedback = props.feedback_value ?? null;
  let editing = null; // the index of the message being edited
  // A newline in a message is a line break, as in Gradio's Chatbot (line_breaks=True).
  const view = { fileUrl: (file) => ctx.fileUrl(file), markdown: props.render_markdown !== false, lineBreaks: props.line_breaks !== false, toggled: new Map() };
  // "panel" shows messages full width, one under the other; "bubble" (the default) alternates.
  const panel = props.layout === "panel";
  const buttons = props.buttons ?? ["copy", "copy_all"];
  const copy = (text, data) => {
    const copied = props.watermark ? `${text}\n\n${props.watermark}` : text;
    navigator.clipboard?.writeText(copied).catch(() => {});
    ctx.emit("copy", data);
  };

  const actionBar = (message, index, assistantIndex, last) => {
    const bar = el("div", { class: "webui-like-bar" });
    const data = { index, value: message.content };
    // Retry and undo act on the last exchange, from its last message; as Gradio's buttons, they
    // name the exchange's user message (its index is where the history is cut).
    if (last && message.role !== "user") {
      const all = flatMessages(value);
      let asked = all.length - 1;
      while (asked > 0 && all[asked].role !== "user") asked--;
      const exchange = { index: asked, value: all[asked]?.content };
      if (props.retryable) bar.append(el("button", { type: "button", class: "webui-chat-retry", title: "Retry", "aria-label": "Retry", "data-icon": "↻", onclick: () => ctx.emit("retry", exchange) }));
      if (props.undoable) bar.append(el("button", { type: "button", class: "webui-chat-undo", title: "Undo", "aria-label": "Undo", "data-icon": "↶", onclick: () => ctx.emit("undo", exchange) }));
    }
    if (buttons.includes("copy")) {
      bar.append(el("button", { type: "button", class: "webui-chat-copy", title: "Copy", "aria-label": "Copy", "data-icon": "⧉", onclick: () => copy(plainText(message.content), data) }));
    }
    const mayEdit = props.editable === "all" || (props.editable === "user" && message.role === "user");
    if (mayEdit) {
      bar.append(el("button", { type: "button", class: "webui-chat-edit", title: "Edit", "aria-label": "Edit", "data-icon": "✎", onclick: () => { editing = index; draw(); } }));
    }
    const likeable = props.likeable && (message.role !== "user" || props.like_user_message);
    if (likeable) {
      const chosen = message.role === "assistant" && Array.isArray(feedback) ? feedback[assistantIndex] : null;
      for (const option of props.feedback_options ?? ["Like", "Dislike"]) {
        const text = option === "Like" ? "👍" : option === "Dislike" ? "👎" : option;
        const liked = option === "Like" ? true : option === "Dislike" ? false : option;
        const pressed = chosen === option;
        bar.append(el("button", { type: "button", class: "webui-like", "data-liked": String(liked), "aria-pressed": String(pressed), "aria-label": option, title: option, "data-icon": text, onclick: () => {
          if (message.role === "assistant") {
            feedback = Array.isArray(feedback) ? [...feedback] : [];
            feedback[assistantIndex] = option;
          }
          ctx.emit("like", { ...data, liked });
          draw();
        } }));
      }
    }
    return bar.childElementCount ? bar : null;
  };

  const editor = (message, index) => {
    const previous = plainText(message.content);
    const area = el("textarea", { class: "webui-chat-editor", rows: 3 });
    area.value = previous;
    const done = (save) => {
      editing = null;
      if (save && area.value !== previous) {
        value = value.map((m, i) => (i === index ? { ...m, content: [{ type: "text", text: area.value }] } : m));
        ctx.emit("edit", { index, value: area.value, previous_value: previous });
      }
      draw();
    };
    return el("div", { class: "webui-chat-editing" }, area,
      el("button", { type: "button", class: "webui-button webui-button-primary webui-button-sm", text: "Save", onclick: () => done(true) }),
      el("button", { type: "button", class: "webui-button webui-button-sm", text: "Cancel", onclick: () => done(false) }));
  };

  const optionsBar = (message, index) =>
    el("div", { class: "webui-chat-options" }, ...message.options.map((option) =>
      el("button", { type: "button", class: "webui-button webui-button-sm", text: option.label ?? option.value, onclick: () => ctx.emit("option_select", { index, value: option.value }) })));

  // A message's bubble: its content, then its suggested replies and buttons. Bubbles are the
  // conversation's children in order (`.webui-message:last-child` is the last message); the
  // buttons draw their glyphs from `data-icon` (CSS), so a bubble's text is its message's.
  const renderMessage = (message, index, assistantIndex, children) => {
    const role = message.role === "user" ? "user" : "assistant";
    const body = editing === index ? [editor(message, index)] : renderContent(message.content, view);
    const inner = message.metadata?.title ? [renderThought(message, [...body, ...children], view, index)] : [...body, ...children];
    const bubble = el("div", { class: `webui-message webui-message-${role}`, "data-role": role, "data-index": String(index) }, ...inner);
    if (panel) {
      bubble.style.maxWidth = "100%";
      bubble.style.alignSelf = "stretch";
    }
    if (props._selectable) bubble.addEventListener("click", () => ctx.emit("select", { index, value: message.content, selected: true }));
    if (message.options?.length) bubble.append(optionsBar(message, index));
    const bar = actionBar(message, index, assistantIndex, index === flatMessages(value).length - 1);
    if (bar) bubble.append(bar);
    return bubble;
  };

  // avatar_images: [user, assistant] FileData (or URLs), shown beside top-level messages.
  const withAvatar = (bubble, role) => {
    const image = (props.avatar_images ?? [])[role === "user" ? 0 : 1];
    if (!image) return bubble;
    const src = image.url && /^https?:/.test(image.url) ? allowedUrl(image.url) : ctx.fileUrl(image);
    const avatar = el("img", { class: "webui-chat-avatar", src, alt: "", style: "width: 2em; height: 2em; border-radius: 50%; object-fit: cover" });
    const user = role === "user";
    return el("div", { class: "webui-chat-row", style: `display: flex; gap: 0.5em; align-items: flex-start; align-self: ${panel ? "stretch" : user ? "flex-end" : "flex-start"}; flex-direction: ${user ? "row-reverse" : "row"}` }, avatar, bubble);
  };

  const renderExamples = () =>
    el("div", { class: "webui-chat-examples", style: "display: flex; flex-wrap: wrap; gap: 0.5em" },
      ...props.examples.map((example, index) => {
        const button = el("button", { type: "button", class: "webui-button webui-chat-example", onclick: () => ctx.emit("example_select", { index, value: example }) });
        if (example.icon?.url || example.icon?.path) button.append(el("img", { src: ctx.fileUrl(example.icon), alt: "", style: "max-height: 2em" }));
        button.append(el("span", { text: example.display_text ?? example.text ?? "" }));
        const files = example.files ?? [];
        if (files.length) button.append(el("span", { text: ` 📎 ${files.length}` }));
        return button;
      }));

  const draw = () => {
    const messages = flatMessages(value);
    if (!messages.length) {
      const empty = [];
      if (props.placeholder) empty.push(renderText(props.placeholder, { ...view, markdown: true }));
      if (props.examples?.length) empty.push(renderExamples());
      log.replaceChildren(...empty);
      return;
    }
    // Thoughts nest under the thought whose metadata.id their parent_id names.
    const byId = new Map();
    const children = new Map(messages.map((_, i) => [i, []]));
    const roots = [];
    let assistants = 0;
    const assistantIndex = messages.map((m) => (m.role === "assistant" ? assistants++ : -1));
    messages.forEach((message, index) => {
      const parent = message.metadata?.parent_id;
      if (parent != null && byId.has(parent)) children.get(byId.get(parent)).push(index);
      else roots.push(index);
      if (message.metadata?.id != null) byId.set(message.metadata.id, index);
    });
    const build = (index) => renderMessage(messages[index], index, assistantIndex[index], children.get(index).map(build));
    log.replaceChildren(...roots.map((index) => withAvatar(build(index), messages[index].role)));
    if (props.autoscroll !== false) log.scrollTop = log.scrollHeight;
  };

  const toolbar = el("div", { class: "webui-chat-toolbar", style: "display: flex; justify-content: flex-end; gap: 0.25em" });
  if (buttons.includes("copy_all")) {
    toolbar.append(el("button", { type: "button", class: "webui-chat-copy-all", title: "Copy conversation", text: "⧉ all", onclick: () => {
      const text = flatMessages(value).map((m) => plainText(m.content)).join("\n\n");
      copy(text, { value: text });
    } }));
  }
  // With a clear listener (ChatInterface has one) a trash button empties the conversation.
  const trash = el("button", { type: "button", class: "webui-chat-clear", title: "Clear", text: "🗑", onclick: () => {
    if (!props.clearable) return; // hidden then, but a script can still click it
    value = [];
    feedback = null;
    draw();
    ctx.emit("change");
    ctx.emit("clear");
  } });
  trash.hidden = !props.clearable;
  toolbar.append(trash);
  element.prepend(toolbar);
  draw();
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? [];
      editing = null;
      draw();
    },
    update(changed) {
      if ("label" in changed) element.setLabel(changed.label);
      if ("feedback_value" in changed) feedback = changed.feedback_value;
      if ("clearable" in changed) trash.hidden = !(props.clearable = changed.clearable);
      for (const key of ["feedback_options", "editable", "placeholder", "examples", "likeable", "retryable", "undoable"]) {
        if (key in changed) props[key] = changed[key];
      }
      draw();
    },
  };
}
