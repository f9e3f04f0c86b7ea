"""Streamed media outputs in headless Chromium: the page plays a generator's audio chunks back
to back in the order they came (Web Audio), waits for Play without autoplay, and plays video
chunks one after another.

Skipped where Debian's chromium and chromium-driver are absent (see tests/browser.py).
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser
from webui.media import MEDIA_ROOT

SECONDS = (0.2, 0.3, 0.1)  # each chunk's length: the page must schedule them in this order


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium(
        "1000,900", arguments=["--autoplay-policy=no-user-gesture-required"]
    ) as d:
        yield d


def _tone(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.sin(np.arange(int(rate * seconds))) * 8000).astype(np.int16).tobytes())
    return out.getvalue()


def speak():
    for seconds in SECONDS:
        time.sleep(0.1)
        yield _tone(seconds)


def build(autoplay: bool) -> gr.Blocks:
    with gr.Blocks() as demo:
        go = gr.Button("Speak", elem_id="go")
        out = gr.Audio(streaming=True, autoplay=autoplay, elem_id="out")
        go.click(speak, None, out)
    return demo


def stream_data(driver: Driver, key: str) -> str:
    script = f"return document.querySelector('#out .webui-stream-audio')?.dataset[{key!r}] ?? ''"
    return driver.execute_script(script)


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def test_audio_chunks_play_back_to_back_in_order(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    browser.get(serve(build(autoplay=True)))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    browser.find_element(By.CSS_SELECTOR, "#go").click()
    until(lambda: len(floats(stream_data(browser, "starts"))) == 3, timeout=20)
    starts, durations = (
        floats(stream_data(browser, "starts")),
        floats(stream_data(browser, "durations")),
    )
    assert durations == pytest.approx(SECONDS, abs=1e-3)  # in the order they were yielded
    for i in range(2):  # each starts where the one before stops: no gap, no overlap
        assert starts[i + 1] == pytest.approx(starts[i] + durations[i], abs=2e-3)
    link = browser.find_element(By.CSS_SELECTOR, "#out .webui-media-stream a")
    until(lambda: "/gradio_api/stream/" in (link.get_attribute("href") or ""), timeout=10)
    script = "return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => b.byteLength)"
    size = browser.execute_script(script, link.get_attribute("href"))
    assert size == 44 + 2 * int(8000 * sum(SECONDS))  # the whole stream: one WAV of all chunks
    until(
        lambda: (
            "3 of 3 played"
            in browser.find_element(By.CSS_SELECTOR, "#out .webui-stream-audio").text
        )
    )


def test_without_autoplay_chunks_wait_for_play(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    browser.get(serve(build(autoplay=False)))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    browser.find_element(By.CSS_SELECTOR, "#go").click()
    until(lambda: stream_data(browser, "chunks") == "3", timeout=20)
    time.sleep(0.3)
    assert stream_data(browser, "starts") == ""  # nothing scheduled before Play
    play = browser.find_element(By.CSS_SELECTOR, "#out .webui-stream-audio button")
    assert play.is_displayed()
    play.click()
    until(lambda: len(floats(stream_data(browser, "starts"))) == 3)
    assert floats(stream_data(browser, "durations")) == pytest.approx(SECONDS, abs=1e-3)


def test_video_chunks_play_one_after_another(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    clips = [str(MEDIA_ROOT / "videos" / "a.mp4"), str(MEDIA_ROOT / "videos" / "b.mp4")]

    def film():
        yield from clips

    with gr.Blocks() as demo:
        go = gr.Button("Film", elem_id="go")
        out = gr.Video(streaming=True, autoplay=True, elem_id="film")
        go.click(film, None, out)
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    browser.find_element(By.CSS_SELECTOR, "#go").click()
    video = "document.querySelector('#film video.webui-stream-video')"
    # The player appears with the first chunk: until then there is none to read.
    until(lambda: browser.execute_script(f"return {video}?.dataset.chunks") == "2", timeout=20)
    assert "a.mp4" in browser.execute_script(f"return {video}.src")  # the first chunk first
    # When it ends the next one plays.
    until(lambda: browser.execute_script(f"return {video}?.dataset.playing") == "1", timeout=20)
    assert "b.mp4" in browser.execute_script(f"return {video}.src")
