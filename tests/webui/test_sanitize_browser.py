"""Untrusted Markdown in headless Chromium: no payload of an XSS corpus runs script.

Each payload tries to set `document.title`, set `window.__pwned` or call `alert()`. The corpus
is rendered in a webui `Markdown`, in a `Chatbot` (as user and as assistant messages) and in the
reply area of jaxserve's playground; then every element there is hovered, focused and clicked
(links, buttons, images, SVG and summaries also by real mouse clicks), and the DOM is searched
for what must not survive: script, iframe and the like, `on*` attributes, and javascript:,
vbscript: or data:text/html URLs. A positive check (a link, bold text, a table, a code block)
keeps the test from passing on a page that shows nothing.

The playground's reply comes from a stand-in for the engine, because the tiny test model cannot
be made to write a payload: `ScriptedServing` is the real `OpenAIServing` with `render_chat` and
`submit` replaced, streaming the corpus as the model's text in chunks. From there on the path is
the product's: `Playground.chat` turns the engine updates into the conversation, `playground()`
builds the page, the Chatbot's postprocess sends it and the page renders it as it streams.

Needs Debian's `chromium` and `chromium-driver`; skipped where they are absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import (
    NoAlertPresentException,
    UnexpectedAlertPresentException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

TITLE = "sanitize test"
PWN = "document.title='pwned'"
FLAG = "window.__pwned=1"
ALERT = "alert(1)"

C0_LINKS = " ".join(
    f"[md c0 {c:02x}](<{chr(c)}javascript:{FLAG}>) "
    f'<a href="{chr(c)}javascript:{FLAG}">html c0 {c:02x}</a>'
    for c in range(1, 0x20)
    if chr(c) not in "\t\n\r"  # these end the angle-bracket link in Markdown
)

PAYLOADS: dict[str, str] = {
    "reported exploit": f"[click me](\x01javascript:{PWN},undefined)",
    "C0 before the scheme, in angle brackets": f"[c0 angle](<\x01javascript:{PWN}>)",
    "every C0 control before the scheme": C0_LINKS,
    "entity C0 in HTML": f'<a href="&#1;javascript:{FLAG}">entity c0</a>',
    "tab inside the scheme": f'[tab](<java\tscript:{FLAG}>) <a href="java\tscript:{FLAG}">t</a>',
    "newline inside the scheme": f'<a href="java\nscript:{PWN}">newline</a>',
    "entity newline inside the scheme": f'<a href="java&#10;script:{PWN}">entity newline</a>',
    "mixed case": f'[mixed](JaVaScRiPt:{FLAG}) <a href="JaVaScRiPt:{ALERT}">mixed html</a>',
    "decimal entity": f'[dec](&#106;avascript:{FLAG}) <a href="&#106;&#97;vascript:{PWN}">d</a>',
    "hex entity": f'[hex](&#x6A;avascript:{FLAG}) <a href="&#x6A;avascript:{ALERT}">h</a>',
    "entity tab": f'[ent tab](jav&#x09;ascript:{FLAG}) <a href="jav&#x09;ascript:{PWN}">e</a>',
    "entity colon": f"[colon](javascript&colon;{FLAG})",
    "data text/html": (
        "[data](data:text/html,<script>parent.__pwned=1</script>) "
        "[data64](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+) "
        '<a href="data:text/html,<script>alert(1)</script>">data html</a>'
    ),
    "vbscript": '[vb](vbscript:msgbox(1)) <a href="vbscript:msgbox(1)">vb html</a>',
    "svg onload": f'<svg onload="{FLAG}" width="20" height="20"><circle r="8"/></svg>',
    "svg link": (
        f'<svg width="90" height="30"><a xlink:href="javascript:{FLAG}">'
        '<text y="20">svg link</text></a></svg>'
    ),
    "svg animate href": (
        '<svg width="90" height="30"><a><animate attributeName="href" '
        f'values="javascript:{FLAG}"/><text y="20">svg anim</text></a></svg>'
    ),
    "img onerror": f'<img src=x onerror="{FLAG}"> <img src="x" onerror="{ALERT}">',
    "markdown image with javascript src": f"![md image](javascript:{FLAG})",
    "iframe srcdoc": '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    "iframe data": '<iframe src="data:text/html,<script>parent.__pwned=1</script>"></iframe>',
    "script tag": f"<script>{FLAG}</script>",
    "script in a code fence": f"```html\n<script>{FLAG}</script>\n```",
    "HTML in table cells": (
        "| col a | col b |\n|---|---|\n"
        f'| <img src=x onerror="{FLAG}"> | <a href="javascript:{FLAG}">cell link</a> |\n'
        f'| <b onmouseover="{FLAG}">hover cell</b> | [md cell](javascript:{PWN}) |'
    ),
    "reference-style link": f"[ref link][evil]\n\n[evil]: javascript:{FLAG}",
    "reference-style C0 link": f'[ref c0]\n\n[ref c0]: <\x01javascript:{ALERT}> "t"',
    "autolink": f"<javascript:{FLAG}> <JAVASCRIPT:{ALERT}>",
    "handler attributes": (
        f'<a href="#" onclick="{FLAG}">onclick link</a> <button onclick="{PWN}">button</button> '
        f'<div onmouseover="{FLAG}" tabindex="0" onfocus="{FLAG}">hover div</div> '
        f'<input autofocus onfocus="{FLAG}"> <span onpointerdown="{PWN}">span</span>'
    ),
    "details ontoggle": f'<details open ontoggle="{FLAG}"><summary>details</summary>x</details>',
    "form action": f'<form action="javascript:{FLAG}"><button>submit</button></form>',
    "object and embed": (
        f'<object data="javascript:{FLAG}"></object><embed src="javascript:{FLAG}">'
    ),
    "meta refresh": f'<meta http-equiv="refresh" content="0;url=javascript:{FLAG}">',
    "math link": f'<math><mtext><a href="javascript:{FLAG}">math link</a></mtext></math>',
    "mutation XSS": f'<noscript><p title="</noscript><img src=x onerror={FLAG}>"></noscript>',
}

POSITIVE = (
    "**bold marker** and [safe link](https://example.org/ok)\n\n"
    "| Name | Value |\n|---|---:|\n| cell | 42 |\n\n"
    "```\nprint('code block')\n```"
)
CORPUS = [*PAYLOADS.values(), POSITIVE]

# Elements, attributes and URLs that must not come out of the sanitizer.
INSPECT = """
const root = arguments[0];
const banned = ["script", "iframe", "frame", "object", "embed", "style", "form", "meta", "base"];
const urlAttributes = ["href", "xlink:href", "src", "action", "formaction", "data", "poster"];
const problems = [];
for (const node of root.querySelectorAll("*")) {
  const tag = node.localName;
  if (banned.includes(tag)) problems.push(`<${tag}> survived`);
  for (const { name, value } of node.attributes) {
    if (name.toLowerCase().startsWith("on")) problems.push(`<${tag} ${name}> survived`);
    if (name === "srcdoc") problems.push(`<${tag} srcdoc> survived`);
    const url = value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
    if (urlAttributes.includes(name.toLowerCase())
        && /^(javascript:|vbscript:|data:text\\/html)/.test(url)) {
      problems.push(`<${tag} ${name}="${value}"> survived`);
    }
  }
  if (node.localName === "a" && node.href && /^(javascript|vbscript|data):/.test(node.protocol)) {
    problems.push(`a link to ${node.protocol} survived: ${node.href}`);
  }
}
return problems;
"""

# Synthetic events on every element: what a handler attribute could listen to. Links to web
# pages or mail (as the browser parsed them: no script can hide there) keep the page in place.
POKE = """
const root = arguments[0];
for (const a of root.querySelectorAll("a[href]")) {
  if (["http:", "https:", "mailto:"].includes(a.protocol)) {
    a.addEventListener("click", (event) => event.preventDefault());
  }
}
for (const node of root.querySelectorAll("*")) {
  for (const type of ["pointerover", "mouseover", "mouseenter", "pointerdown", "mousedown",
                      "mouseup", "click", "dblclick"]) {
    node.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window }));
  }
  node.dispatchEvent(new FocusEvent("focus"));
  if (typeof node.focus === "function") node.focus();
}
"""

CLICKABLE = "a, button, summary, img, svg, input, [tabindex]"


class Attack:
    """Hovers, focuses and clicks everything under one element; `signs` lists what ran or
    survived. An alert a payload opens is dismissed by the driver and noted."""

    def __init__(self, driver: Driver, selector: str, title: str):
        self.driver = driver
        self.selector = selector
        self.title = title
        self.signs: list[str] = []

    def guard(self, action: Callable[[], Any]) -> Any:
        """`action()`, retried after each alert it runs into (each one is noted)."""
        for _ in range(100):
            try:
                return action()
            except UnexpectedAlertPresentException as e:
                self.signs.append(f"an alert opened: {e.alert_text!r}")
        raise AssertionError(f"alerts keep opening: {self.signs[-3:]}")

    def check_window(self) -> None:
        """Notes an open alert, a changed title or a set flag in the current window."""
        try:
            alert = self.driver.switch_to.alert
            self.signs.append(f"an alert is open: {alert.text!r}")
            alert.accept()
        except NoAlertPresentException:
            pass
        title, flag = self.guard(
            lambda: self.driver.execute_script("return [document.title, window.__pwned ?? null]")
        )
        if title != self.title:
            self.signs.append(f"document.title became {title!r}")
        if flag is not None:
            self.signs.append(f"window.__pwned became {flag!r}")

    def close_other_windows(self, main: str) -> None:
        """Closes the tabs that clicks opened: none should (web links are kept in place)."""
        for handle in self.driver.window_handles:
            if handle == main:
                continue
            self.driver.switch_to.window(handle)
            url = "(unreadable)"
            with contextlib.suppress(WebDriverException):  # a hung javascript: or data: tab
                url = self.driver.current_url
            self.signs.append(f"a click opened a tab at {url!r}")
            self.driver.close()
        self.driver.switch_to.window(main)

    def root(self) -> WebElement:
        return self.guard(lambda: self.driver.find_element(By.CSS_SELECTOR, self.selector))

    def click(self, target: WebElement) -> None:
        def real_click() -> None:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
            target.click()

        with contextlib.suppress(WebDriverException):  # hidden, covered or inert: it got
            self.guard(real_click)  # a synthetic click already

    def run(self) -> list[str]:
        driver = self.driver
        main = driver.current_window_handle
        page_url = driver.current_url
        time.sleep(0.3)  # image errors and SVG loads fire after rendering
        self.check_window()
        self.signs += self.guard(lambda: driver.execute_script(INSPECT, self.root()))
        self.guard(lambda: driver.execute_script(POKE, self.root()))
        self.check_window()
        self.close_other_windows(main)
        count = len(self.guard(lambda: self.root().find_elements(By.CSS_SELECTOR, CLICKABLE)))
        for index in range(count):
            targets = self.guard(lambda: self.root().find_elements(By.CSS_SELECTOR, CLICKABLE))
            self.click(targets[index])
            self.check_window()
            self.close_other_windows(main)
            if (url := self.guard(lambda: driver.current_url)) != page_url:
                self.signs.append(f"a click navigated the page to {url!r}")
                driver.get(page_url)
                until(lambda: driver.find_elements(By.CSS_SELECTOR, self.selector))
        time.sleep(0.3)
        self.check_window()
        return self.signs


def assert_positive(root: WebElement) -> None:
    """The harmless part of the corpus is rendered: the test cannot pass on an empty page."""
    assert "bold marker" in [b.text for b in root.find_elements(By.TAG_NAME, "strong")]
    link = root.find_element(By.CSS_SELECTOR, "a[href='https://example.org/ok']")
    assert link.text == "safe link"
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    cells = [c.text for c in root.find_elements(By.CSS_SELECTOR, "table :is(th, td)")]
    assert cells[-4:] == ["Name", "Value", "cell", "42"]
    codes = [c.text for c in root.find_elements(By.CSS_SELECTOR, "pre code")]
    assert "print('code block')" in codes


def assert_fence_shows_markup(root: WebElement) -> None:
    codes = [c.text for c in root.find_elements(By.CSS_SELECTOR, "pre code")]
    assert f"<script>{FLAG}</script>" in codes


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000") as driver:
        yield driver


OpenApp = Callable[[gr.Blocks, str, str], Attack]


@pytest.fixture
def open_app(browser: Driver, serve: Callable[[gr.Blocks], str]) -> OpenApp:
    """Serves an app titled `title` and opens it; returns the attack on `selector`, which also
    notes the alerts that payloads open while the page loads."""

    def open_page(demo: gr.Blocks, selector: str, title: str) -> Attack:
        attack = Attack(browser, selector, title)
        browser.get(serve(demo))
        loaded = "return window.webui !== undefined"
        attack.guard(lambda: until(lambda: browser.execute_script(loaded)))
        return attack

    return open_page


def rendered(attack: Attack, css: str) -> list[WebElement]:
    """The elements `css` once there (alerts meanwhile are noted)."""
    driver = attack.driver
    return attack.guard(lambda: until(lambda: driver.find_elements(By.CSS_SELECTOR, css)))


def test_markdown_runs_no_payload(open_app: OpenApp):
    with gr.Blocks(title=TITLE) as demo, gr.Column(elem_id="markdowns"):
        for source in CORPUS:
            gr.Markdown(source)
    attack = open_app(demo, "#markdowns", TITLE)
    rendered(attack, "#markdowns table")

    assert_positive(attack.root())
    assert_fence_shows_markup(attack.root())
    assert attack.run() == []


def test_chatbot_runs_no_payload_from_either_side(open_app: OpenApp):
    messages = [
        {"role": role, "content": source} for source in CORPUS for role in ("user", "assistant")
    ]
    with gr.Blocks(title=TITLE) as demo:
        gr.Chatbot(messages, type="messages", elem_id="chat", height=4000)
    attack = open_app(demo, "#chat", TITLE)
    rendered(attack, "#chat table")

    bubbles = attack.root().find_elements(By.CSS_SELECTOR, ".webui-message")
    assert [b.get_attribute("data-role") for b in bubbles] == ["user", "assistant"] * len(CORPUS)
    assert_positive(bubbles[-2])  # the user's message
    assert_positive(bubbles[-1])  # the assistant's
    assert_fence_shows_markup(attack.root())
    assert attack.run() == []


class ScriptedStream:
    """An `OutputStream` whose sequence "generates" a fixed text in chunks."""

    def __init__(self, chunks: list[str]):
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[Any]:
        from jaxserve.server.async_engine import SequenceUpdate

        for i, chunk in enumerate(self.chunks):
            await asyncio.sleep(0.02)  # the page renders partial replies too
            last = i == len(self.chunks) - 1
            yield SequenceUpdate(
                index=0,
                text=chunk,
                token_ids=[i + 1],
                logprobs=None,
                finish_reason="stop" if last else None,
                stop_reason=None,
                num_prompt_tokens=3,
                num_cached_tokens=0,
                num_output_tokens=i + 1,
            )

    def aclose(self) -> None:
        """Nothing to abort: the stand-in has no engine."""


def scripted_serving(reply: str, num_chunks: int = 12) -> Any:
    """The real `OpenAIServing`, but the engine's reply is `reply` (see the module docstring)."""
    from jaxserve.server.serving import OpenAIServing, Prompt

    class ScriptedServing(OpenAIServing):
        async def render_chat(self, parsed: Any) -> Any:
            return Prompt("prompt", [1, 2, 3])

        async def submit(self, prompts: list[Any], params: Any) -> Any:
            size = -(-len(reply) // num_chunks)
            return ScriptedStream([reply[i : i + size] for i in range(0, len(reply), size)])

    return ScriptedServing(None, None, model_name="scripted", vocab_size=256)  # type: ignore[arg-type]


def test_playground_reply_runs_no_payload(open_app: OpenApp):
    from jaxserve.ui.playground import playground

    reply = "\n\n".join(CORPUS)
    demo = playground(scripted_serving(reply), max_model_len=512, api_path=None)
    attack = open_app(demo, "#chatbot", "jaxserve · scripted")
    driver = attack.driver

    box = driver.find_element(By.CSS_SELECTOR, "#message input")
    box.send_keys(f'<img src=x onerror="{FLAG}"> [user link](javascript:{FLAG})', Keys.ENTER)
    last = "#chatbot .webui-message-assistant:last-child"
    shown = f"return document.querySelector({last!r})?.innerText ?? ''"
    attack.guard(lambda: until(lambda: " reply tokens" in driver.execute_script(shown)))
    attack.guard(
        lambda: until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-status"))
    )

    assert_positive(driver.find_element(By.CSS_SELECTOR, last))
    assert_fence_shows_markup(driver.find_element(By.CSS_SELECTOR, last))
    assert attack.run() == []
    assert driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-message-user img")  # inert
