// Chatbot: a list of messages {role, content, metadata?}. Content is Markdown text, a file
// ({file: FileData} or a FileData itself), or a list of parts {type: "text"|"file", ...}.

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
    const value = content.value;
    return isFileData(value) ? [renderFile(value, view)] : renderContent(JSON.stringify(value), view);
  }
  return [el("pre", { text: JSON.stringify(content, null, 2) })];
}

function renderMessage(message, view) {
  const role = message.role === "user" ? "user" : "assistant";
  const bubble = el("div", { class: `webui-message webui-message-${role}`, "data-role": role });
  const title = message.metadata?.title;
  const body = renderContent(message.content, view);
  if (title) {
    const details = el("details", { class: "webui-thought", open: message.metadata.status === "pending" });
    details.append(el("summary", { text: title }), ...body);
    bubble.append(details);
  } else bubble.append(...body);
  return bubble;
}

export function chatbot(props, ctx) {
  const log = el("div", { class: "webui-chat" });
  if (props.height) log.style.maxHeight = typeof props.height === "number" ? `${props.height}px` : props.height;
  let value = props.value ?? [];
  // A newline in a message is a line break, as in Gradio's Chatbot (line_breaks=True).
  const view = { fileUrl: (file) => ctx.fileUrl(file), markdown: props.render_markdown !== false, lineBreaks: true };
  const draw = () => {
    const messages = Array.isArray(value) ? value : [];
    const flat = messages.flatMap((message) =>
      // Pairs [user, assistant] are the older format; each half becomes a message.
      Array.isArray(message)
        ? message.map((content, i) => ({ role: i ? "assistant" : "user", content })).filter((m) => m.content != null)
        : [message],
    );
    log.replaceChildren(...flat.map((message, index) => withEvents(renderMessage(message, view), message, index)));
    if (props.autoscroll !== false) log.scrollTop = log.scrollHeight;
  };
  // A click on a message fires `select`; with a like listener, thumbs fire `like` (LikeData).
  const withEvents = (bubble, message, index) => {
    const data = { index, value: message.content };
    if (props._selectable) bubble.addEventListener("click", () => ctx.emit("select", { ...data, selected: true }));
    if (props.likeable && (message.role !== "user" || props.like_user_message)) {
      const thumb = (liked, text) =>
        el("button", { type: "button", class: "webui-like", "data-liked": String(liked), text, onclick: () => ctx.emit("like", { ...data, liked }) });
      bubble.append(el("div", { class: "webui-like-bar" }, thumb(true, "👍"), thumb(false, "👎")));
    }
    return bubble;
  };
  draw();
  const element = fieldset(props, log);
  return {
    element,
    getValue: () => value,
    setValue(next) {
      value = next ?? [];
      draw();
    },
    update(changed) {
      if ("label" in changed) element.setLabel(changed.label);
    },
  };
}
