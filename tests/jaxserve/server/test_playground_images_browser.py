"""The playground of a vision-language model in headless Chromium, as a user drives it: an image
uploaded through the message box's file input (and then one pasted into it) goes with the
typed message, the user's turn shows it, and the reply streams in with its footer. For the tiny
Qwen2.5-VL and LLaVA; screenshots go to the test's `tmp_path` and to `$JAXSERVE_SCREENSHOTS`
when that names a folder (as `test_pages_browser.py`'s do). Needs Debian's `chromium` and
`chromium-driver`; skipped where they are absent."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.by import By

from tests import browser as chromium  # skips the module without a browser
from tests.jaxserve.server.conftest import LiveServer, start_server
from tests.jaxserve.server.test_pages_browser import (
    FOOTER_MARK,
    LAST_REPLY,
    control,
    screenshot,
    set_number,
    until,
)

Driver = chromium.Driver

pytestmark = [pytest.mark.cpu, pytest.mark.slow]

WIDTH, HEIGHT = 84, 56
MESSAGES = "#chatbot .webui-message"
SEND = "//button[normalize-space()='Send' and not(ancestor::*[@id='message'])]"  # the row's
# The user's image once it has loaded: its natural width (0 while loading or if broken).
SHOWN_IMAGE = (
    "const shown = document.querySelectorAll('#chatbot .webui-message');"
    "return shown[shown.length - 2]?.querySelector('img.webui-chat-image')?.naturalWidth ?? 0"
)
# A paste of the PNG `arguments[1]` (base64) into `arguments[0]`, as the clipboard would;
# false when the page took the paste over (attached the image).
PASTE_IMAGE = """
const [target, b64] = arguments;
const clipboard = new DataTransfer();
const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
clipboard.items.add(new File([bytes], "image.png", { type: "image/png" }));
target.focus();
const paste = { clipboardData: clipboard, bubbles: true, cancelable: true };
return target.dispatchEvent(new ClipboardEvent("paste", paste));
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with chromium.headless_chromium("1280,1100", console_errors=True) as driver:
        yield driver


@pytest.fixture(scope="module", params=["qwen2_5_vl", "llava"])
def pages(request, vlm_llms) -> Iterator[LiveServer]:
    server = start_server(vlm_llms(request.param), webui=True, api_key=None)
    yield server
    server.stop()


def picture(folder: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    path = folder / f"picture-{seed}.png"
    Image.fromarray(pixels).save(path)
    return path


def attached(driver: Driver) -> list[str]:
    chips = driver.find_elements(By.CSS_SELECTOR, "#message .webui-file-chip")
    return [chip.text.strip() for chip in chips]


def send_and_see_the_reply(driver: Driver, text: str, turns: int) -> str:
    """Types `text`, presses Send, and waits for the turn: the user's message with its image
    shown, then the reply streamed to its end (its footer); returns the reply."""
    box = driver.find_element(By.CSS_SELECTOR, "#message input[type=text]")
    box.send_keys(text)
    driver.find_element(By.XPATH, SEND).click()
    until(lambda: box.get_attribute("value") == "" and not attached(driver))  # the event took it
    until(lambda: len(driver.find_elements(By.CSS_SELECTOR, MESSAGES)) == 2 * turns)
    user = driver.find_elements(By.CSS_SELECTOR, MESSAGES)[-2]
    assert text in user.text
    until(lambda: driver.execute_script(SHOWN_IMAGE) == WIDTH)  # served back and decoded
    reply = until(lambda: (t := driver.execute_script(LAST_REPLY)) and FOOTER_MARK in t and t)
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-status"))
    body, _, footer = reply.rstrip().rpartition("\n")
    assert "finished: length" in footer and "12 reply tokens" in footer, footer
    assert body.strip(), "the reply has no text before its footer"
    return body.strip()


def test_an_uploaded_image_goes_with_the_message(
    browser: Driver, pages: LiveServer, tmp_path: Path, request: pytest.FixtureRequest
):
    driver = browser
    driver.get("about:blank")  # the last family's page is gone, and with it its log lines:
    driver.get_log("browser")  # its stream, cut when that server stopped
    driver.get(pages.url)
    until(lambda: driver.execute_script("return window.webui !== undefined"))
    set_number(driver, "Max tokens", 12)
    set_number(driver, "Temperature", 0)
    ignore_eos = control(driver, "Ignore end of sequence", "input[type=checkbox]")
    if not ignore_eos.is_selected():
        ignore_eos.click()

    upload = driver.find_element(By.CSS_SELECTOR, "#message input[type=file]")
    upload.send_keys(str(picture(tmp_path, 1)))
    until(lambda: attached(driver) == ["picture-1.png"])
    send_and_see_the_reply(driver, "describe the image", turns=1)
    pages.wait_idle()
    family = request.node.callspec.params["pages"]
    name = "playground_image" if family == "qwen2_5_vl" else f"playground_image_{family}"
    shot = screenshot(driver, name, tmp_path)
    assert shot.exists()

    # A new conversation with a pasted image (a screenshot copied to the clipboard, say).
    driver.find_element(By.XPATH, "//button[normalize-space()='Clear']").click()
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, MESSAGES))
    box = driver.find_element(By.CSS_SELECTOR, "#message input[type=text]")
    png = base64.b64encode(picture(tmp_path, 2).read_bytes()).decode()
    assert not driver.execute_script(PASTE_IMAGE, box, png)  # the page took it over
    until(lambda: attached(driver) == ["image.png"])
    send_and_see_the_reply(driver, "and this one?", turns=1)
    pages.wait_idle()

    assert not driver.find_elements(By.CSS_SELECTOR, ".webui-toast-error, .webui-fatal")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
