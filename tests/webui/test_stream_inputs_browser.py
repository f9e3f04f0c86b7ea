"""`.stream()` in headless Chromium with its fake camera and microphone: the page records,
sends chunks to one running event, and stops at the time limit or when the user stops.

Skipped where Debian's chromium and chromium-driver are absent (see tests/browser.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000", arguments=FAKE_MEDIA) as driver:
        yield driver


def value_of(driver: Driver, selector: str) -> str:
    return driver.execute_script(f"return document.querySelector({selector!r}).value")


def frames(driver: Driver) -> int:
    seen = value_of(driver, "#seen input")
    return int(seen.rsplit(" ", 1)[1]) if "frame" in seen else 0


def running(driver: Driver, dependency_id: int) -> int:
    script = f"return window.webui.runner.active.get({dependency_id})?.size ?? 0"
    return driver.execute_script(script)


def build() -> gr.Blocks:
    def frame(image: Any, count: int) -> tuple[str, int]:
        return f"{image.shape[2]} channels, frame {count + 1}", count + 1

    def chunk(audio: tuple[int, Any]) -> str:
        rate, samples = audio
        return f"{rate} Hz, {len(samples)} samples"

    with gr.Blocks() as demo:
        camera = gr.Image(sources="webcam", elem_id="camera")
        count = gr.State(0)
        seen = gr.Textbox(elem_id="seen")
        camera.stream(frame, [camera, count], [seen, count], stream_every=0.2, time_limit=30)
        microphone = gr.Audio(sources=["microphone"], elem_id="microphone")
        heard = gr.Textbox(elem_id="heard")
        microphone.stream(chunk, microphone, heard, stream_every=0.3, time_limit=1.5)
    return demo


def test_webcam_frames_and_microphone_chunks_stream_to_one_event(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    browser.get(serve(build()))
    until(lambda: browser.execute_script("return window.webui !== undefined"))

    record = browser.find_element(By.CSS_SELECTOR, "#camera button")
    record.click()
    # Three frames reached fn in one event: the State counted them across chunks.
    until(lambda: frames(browser) >= 3, timeout=20)
    assert value_of(browser, "#seen input").startswith("3 channels")
    assert running(browser, 0) == 1
    record.click()  # Stop: the page closes the event
    until(lambda: running(browser, 0) == 0)
    assert record.text == "Record"

    microphone = browser.find_element(By.CSS_SELECTOR, "#microphone button")
    microphone.click()
    until(lambda: " Hz, " in value_of(browser, "#heard input"), timeout=20)
    rate, samples = value_of(browser, "#heard input").replace(" Hz,", "").split()[:2]
    assert int(rate) >= 8000 and int(samples) > 0
    # time_limit=1.5: the server ends the event and the page stops recording by itself.
    until(lambda: microphone.text == "Record" and running(browser, 1) == 0, timeout=10)


def test_live_interface_streams_the_webcam(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    demo = gr.Interface(
        lambda frame: f"{frame.ndim} dims",
        gr.Image(streaming=True, elem_id="webcam"),
        gr.Textbox(elem_id="dims"),
        live=True,
        stream_every=0.2,
    )
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    browser.find_element(By.CSS_SELECTOR, "#webcam button").click()
    until(lambda: value_of(browser, "#dims textarea, #dims input") == "3 dims", timeout=20)
    browser.find_element(By.CSS_SELECTOR, "#webcam button").click()
