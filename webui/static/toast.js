// Toasts: gr.Info/Warning/Success messages and errors, stacked in a corner of the page.

function container() {
  let box = document.querySelector(".webui-toasts");
  if (!box) {
    box = document.createElement("div");
    box.className = "webui-toasts";
    box.setAttribute("role", "status");
    document.body.append(box);
  }
  return box;
}

// level: "info" | "warning" | "success" | "error"; duration in seconds, null keeps it open.
export function toast(level, title, message, duration = 10) {
  const item = document.createElement("div");
  item.className = `webui-toast webui-toast-${level}`;
  item.dataset.level = level;
  const heading = document.createElement("strong");
  heading.textContent = title || level[0].toUpperCase() + level.slice(1);
  const text = document.createElement("div");
  text.className = "webui-toast-message";
  text.textContent = message ?? "";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "webui-toast-close";
  close.setAttribute("aria-label", "close");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(heading, close, text);
  container().append(item);
  if (duration != null && duration > 0) setTimeout(() => item.remove(), duration * 1000);
  return item;
}
