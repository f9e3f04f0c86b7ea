"""gr.DeepLinkButton in headless Chromium: a click copies a link (the clipboard is stubbed),
the label says so and comes back, and opening the link shows the session's values.
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


def field(browser: Driver, elem_id: str) -> str:
    found = browser.find_elements(By.CSS_SELECTOR, f"#{elem_id} textarea, #{elem_id} input")
    return found[0].get_attribute("value") if found else ""


def test_deep_link_round_trip(browser: Driver, serve: object) -> None:
    with gr.Blocks() as demo:
        name = gr.Textbox(elem_id="name")
        out = gr.Textbox(elem_id="out")
        name.submit(lambda n: f"Hi {n}", name, out)
        gr.DeepLinkButton(elem_id="share")
    url = serve(demo)  # type: ignore[operator]
    browser.get(url)
    until(
        lambda: browser.execute_script("return document.getElementById('webui-app').dataset.ready")
    )
    browser.execute_script(
        "window.copied = null;"
        "const clipboard = {writeText: async (text) => { window.copied = text; }};"
        "Object.defineProperty(navigator, 'clipboard', {value: clipboard});"
    )
    box = browser.find_element(By.CSS_SELECTOR, "#name textarea, #name input")
    box.send_keys("Ada\n")
    until(lambda: field(browser, "out") == "Hi Ada")
    button = browser.find_element(By.CSS_SELECTOR, "#share button, button#share")
    button.click()
    link = until(lambda: browser.execute_script("return window.copied"))
    assert "deep_link=" in link
    until(lambda: button.text == "Link Copied!")
    until(lambda: button.text == "Share via Link", timeout=5)
    browser.get(link)
    until(lambda: field(browser, "out") == "Hi Ada")
    assert field(browser, "name") == "Ada"
    browser.get(f"{url}?deep_link=unknown")
    toast = until(lambda: browser.find_elements(By.CSS_SELECTOR, ".webui-toast-error"))
    assert "deep link" in toast[0].text
    errors = [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
    assert errors == []
