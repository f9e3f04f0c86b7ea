// The login form, for an app launched with auth=: shown when /config answers 401 with
// auth_required. It posts the form to `login` as Gradio's page does; on success the server sets
// the session cookie and the page reloads into the app.

import { el } from "./components/common.js";

export function showLogin(root, base, message) {
  const username = el("input", { type: "text", name: "username", autocomplete: "username", required: true });
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password" });
  const error = el("p", { class: "webui-login-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "webui-button webui-button-primary", text: "Login" });
  const form = el(
    "form",
    { class: "webui-login", method: "post", action: new URL("login", base).href },
    el("h2", { text: "Login" }),
    message ? el("p", { class: "webui-login-message", text: message }) : null,
    error,
    el("label", { class: "webui-field" }, el("span", { class: "webui-label", text: "Username" }), username),
    el("label", { class: "webui-field" }, el("span", { class: "webui-label", text: "Password" }), password),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const body = new URLSearchParams({ username: username.value, password: password.value });
      const reply = await fetch(form.action, { method: "POST", body });
      if (reply.ok) {
        window.location.reload();
        return;
      }
      error.textContent = reply.status === 400 ? "Incorrect credentials" : `Login failed (${reply.status})`;
    } catch (failure) {
      error.textContent = `Login failed: ${failure.message}`;
    } finally {
      submit.disabled = false;
    }
    error.hidden = false;
    password.value = "";
    password.focus();
  });
  root.replaceChildren(form);
  username.focus();
}
