"""An Image's webcam and clipboard sources in headless Chromium (fake camera): Capture uploads
one frame and a pasted image becomes the value, each reaching fn through change; without
"upload" in sources there is no file picker. Skipped without chromium."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1000,1400", console_errors=True, arguments=FAKE_MEDIA) as driver:
        yield driver


def size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def test_webcam_capture_and_paste(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        camera = gr.Image(sources=["webcam"], elem_id="camera")
        gr.Image(
            sources=["webcam"],
            webcam_options=gr.WebcamOptions(mirror=False, constraints={"video": True}),
            elem_id="straight",
        )
        pasted = gr.Image(sources=["clipboard", "upload"], elem_id="pasted")
        camera_size = gr.Textbox(elem_id="camera_size")
        pasted_size = gr.Textbox(elem_id="pasted_size")
        camera.change(size, camera, camera_size)
        pasted.change(size, pasted, pasted_size)
    browser.get(serve(demo))

    def shown(elem_id: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f"#{elem_id} input").get_attribute("value")

    opener = until(lambda: browser.find_element(By.CSS_SELECTOR, "#camera .webui-webcam-open"))
    assert not browser.find_element(By.CSS_SELECTOR, "#camera input[type=file]").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#pasted .webui-webcam-open") == []
    transforms = browser.execute_script(
        "return ['#camera', '#straight'].map((id) =>"
        "  document.querySelector(`${id} video`).style.transform)"
    )
    assert transforms == ["scaleX(-1)", ""]  # Gradio's WebcamOptions mirror by default
    opener.click()
    capture = browser.find_element(By.CSS_SELECTOR, "#camera .webui-webcam-capture")
    until(
        lambda: browser.execute_script("return document.querySelector('#camera video').videoWidth")
    )
    capture.click()
    until(lambda: shown("camera_size") != "")
    width, height = (int(v) for v in shown("camera_size").split("x"))
    assert width > 0 and height > 0
    assert (
        browser.execute_script("return document.querySelector('#camera video').srcObject") is None
    )

    png = base64.b64encode(Path(gr.media.get_image("logo.png")).read_bytes()).decode()
    browser.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
        "const data = new DataTransfer();"
        "data.items.add(new File([bytes], 'logo.png', { type: 'image/png' }));"
        "document.querySelector('#pasted .webui-field')"
        "  .dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));",
        png,
    )
    until(lambda: shown("pasted_size") == "96x64")
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
