"""gr.MultimodalTextbox in headless Chromium: an image pasted into its text field is attached
(uploaded) as a picked one is, text pastes stay text, a chip's × takes its file off, and the
picker's `accept` reads Gradio's file types. Skipped where chromium and chromium-driver are
absent."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

# Pastes `arguments[1]` (base64 bytes) as a file named `arguments[2]` of type `arguments[3]`,
# or, with no bytes, the text `arguments[2]`, into the element `arguments[0]`, as the
# clipboard would; returns whether the page let the paste happen (false: it took it over).
PASTE = """
const [target, b64, name, type] = arguments;
const clipboard = new DataTransfer();
if (b64 === null) clipboard.setData("text/plain", name);
else {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  clipboard.items.add(new File([bytes], name, { type }));
}
target.focus();
const paste = { clipboardData: clipboard, bubbles: true, cancelable: true };
return target.dispatchEvent(new ClipboardEvent("paste", paste));
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1000,800", console_errors=True) as driver:
        yield driver


def build_app() -> gr.Blocks:
    def described(value: dict) -> str:
        names = [path.rsplit("/", 1)[-1] for path in value["files"]]
        return f"{value['text']}|{','.join(names)}"

    with gr.Blocks() as demo:
        box = gr.MultimodalTextbox(file_types=["image"], file_count="multiple", elem_id="box")
        gr.MultimodalTextbox(file_types=[".pdf", "file"], elem_id="any")
        shown = gr.Textbox(elem_id="shown")
        box.submit(described, box, shown)
    return demo


def chips(driver: Driver) -> list[str]:
    return [c.text.strip() for c in driver.find_elements(By.CSS_SELECTOR, "#box .webui-file-chip")]


def test_a_pasted_image_is_attached_and_reaches_fn(browser: Driver, serve: object) -> None:
    driver = browser
    driver.get(serve(build_app()))  # type: ignore[operator]
    until(lambda: driver.execute_script("return window.webui !== undefined"))
    assert (
        driver.find_element(By.CSS_SELECTOR, "#box input[type=file]").get_dom_attribute("accept")
        == "image/*"
    )
    assert (
        driver.find_element(By.CSS_SELECTOR, "#any input[type=file]").get_dom_attribute("accept")
        is None
    )  # "file" takes anything
    text = driver.find_element(By.CSS_SELECTOR, "#box input[type=text]")
    png = base64.b64encode(Path(gr.media.get_image("logo.png")).read_bytes()).decode()

    # A file that is not of the accepted types, and plain text, paste as the browser would.
    assert driver.execute_script(
        PASTE, text, base64.b64encode(b"%PDF").decode(), "a.pdf", "application/pdf"
    )
    assert driver.execute_script(PASTE, text, None, "plain words", None)
    assert chips(driver) == []

    assert not driver.execute_script(PASTE, text, png, "image.png", "image/png")  # taken over
    until(lambda: chips(driver) == ["image.png"])
    assert not driver.execute_script(PASTE, text, png, "second.png", "image/png")
    until(lambda: chips(driver) == ["image.png", "second.png"])
    driver.find_element(By.CSS_SELECTOR, "#box .webui-file-chip-remove").click()
    until(lambda: chips(driver) == ["second.png"])

    text.send_keys("look")
    text.send_keys("\n")
    shown = driver.find_element(By.CSS_SELECTOR, "#shown input, #shown textarea")
    until(lambda: shown.get_attribute("value") == "look|second.png")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
