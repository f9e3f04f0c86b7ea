"""Multipage apps and gr.Navbar in headless Chromium: each path shows its page and runs its
own load events; the Navbar's links follow an event; other pages get Gradio's default navbar.
Skipped where chromium and chromium-driver are absent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1000,800", console_errors=True) as driver:
        yield driver


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        navbar = gr.Navbar([("Extra", "second")], main_page_name="Start", elem_id="nav")
        choice = gr.Textbox(elem_id="choice")
        choice.submit(lambda c: [("Extra", f"second?option={c}")], choice, navbar)
        demo.load(lambda: "home loaded", None, choice)
    with demo.route("Second") as second:
        shown = gr.Textbox(elem_id="shown")

        def option(request: gr.Request) -> str:
            return f"option={request.query_params.get('option')}"

        second.load(option, None, shown)
    return demo


def links(browser: Driver) -> list[tuple[str, str]]:
    """The navbar's (text, href): read in one script, as an event redraws the links."""
    script = "return [...document.querySelectorAll('nav a')].map((a) => [a.innerText, a.href])"
    return [tuple(pair) for pair in browser.execute_script(script)]


def value(browser: Driver, elem_id: str) -> str:
    script = "return document.querySelector(arguments[0])?.value ?? null"
    return browser.execute_script(script, f"#{elem_id} textarea, #{elem_id} input")


def test_pages_and_navbar(browser: Driver, serve: object) -> None:
    url = serve(build())  # type: ignore[operator]
    browser.get(url)
    until(lambda: value(browser, "choice") == "home loaded")  # only the home page's load ran
    assert browser.find_elements(By.CSS_SELECTOR, "#shown") == []
    assert links(browser) == [("Start", url), ("Second", f"{url}second"), ("Extra", f"{url}second")]
    box = browser.find_element(By.CSS_SELECTOR, "#choice textarea, #choice input")
    box.clear()
    box.send_keys("b\n")
    until(lambda: ("Extra", f"{url}second?option=b") in links(browser))
    browser.get(f"{url}second?option=b")
    until(lambda: value(browser, "shown") == "option=b")
    assert browser.find_elements(By.CSS_SELECTOR, "#choice") == []
    default = browser.find_elements(By.CSS_SELECTOR, "nav.webui-navbar-default a")
    assert [(a.text, a.get_attribute("aria-current")) for a in default] == [
        ("Home", None),
        ("Second", "page"),
    ]
    errors = [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
    assert errors == []
