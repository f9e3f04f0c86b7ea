"""Recording a whole clip into Audio (sources with "microphone", no .stream()) in headless
Chromium with its fake microphone: Record, Stop, and fn gets the clip as (rate, samples) through
stop_recording; without "upload" in sources there is no file picker. Skipped without chromium."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1000,900", console_errors=True, arguments=FAKE_MEDIA) as driver:
        yield driver


def test_record_a_clip(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    def heard(clip: tuple[int, np.ndarray]) -> str:
        rate, samples = clip
        return f"{rate} {len(samples) / rate:.1f}"

    with gr.Blocks() as demo:
        voice = gr.Audio(sources=["microphone"], elem_id="voice")
        both = gr.Audio(gr.media.get_audio("cantina.wav"), elem_id="both")  # skip buttons too
        gr.Audio(sources=["upload"], elem_id="upload_only")
        length = gr.Textbox(elem_id="length")
        voice.stop_recording(heard, voice, length)
        both.change(lambda clip: None, both, None)
    browser.get(serve(demo))
    record = until(lambda: browser.find_element(By.CSS_SELECTOR, "#voice .webui-record"))
    assert not browser.find_element(By.CSS_SELECTOR, "#voice input[type=file]").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#both .webui-record")
    assert browser.find_elements(By.CSS_SELECTOR, "#upload_only .webui-record") == []
    record.click()
    until(lambda: record.text == "Stop")
    time.sleep(1.5)
    record.click()

    def shown() -> str:
        return browser.find_element(By.CSS_SELECTOR, "#length input").get_attribute("value")

    until(lambda: shown() != "")
    rate, seconds = shown().split()
    assert int(rate) > 8000 and float(seconds) >= 0.5
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#voice audio"))
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
