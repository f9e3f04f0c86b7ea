"""Audio's extras in headless Chromium: the waveform in WaveformOptions' colours, the skip
buttons moving by skip_length percent, the browser's own player when show_recording_waveform is
False, and the current subtitle cue under the player. Skipped without chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1000,1200", console_errors=True) as driver:
        yield driver


def build_app() -> gr.Blocks:
    sound = gr.media.get_audio("cantina.wav")
    with gr.Blocks() as demo:
        gr.Audio(
            sound,
            waveform_options=gr.WaveformOptions(
                waveform_color="#ff0000", waveform_progress_color="#00ff00", skip_length=10
            ),
            subtitles=[{"text": "first words", "timestamp": [0.2, 0.8]}],
            elem_id="shaped",
        )
        gr.Audio(
            sound,
            waveform_options=gr.WaveformOptions(show_recording_waveform=False),
            elem_id="plain",
        )
    return demo


def pixel_colours(browser: Driver) -> list[str]:
    return browser.execute_script(
        "const c = document.querySelector('#shaped canvas');"
        "if (!c) return [];"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "const seen = new Set();"
        "for (let i = 0; i < d.length; i += 4)"
        "  if (d[i + 3]) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);"
        "return [...seen];"
    )


def test_waveform_skip_and_subtitles(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    browser.get(serve(build_app()))
    until(lambda: "255,0,0" in pixel_colours(browser))
    assert browser.find_elements(By.CSS_SELECTOR, "#plain canvas, #plain .webui-skip") == []
    duration = until(
        lambda: browser.execute_script("return document.querySelector('#shaped audio').duration")
    )
    forward = browser.find_elements(By.CSS_SELECTOR, "#shaped .webui-skip")[1]
    assert forward.text == "10% ⏩"
    forward.click()
    now = browser.execute_script("return document.querySelector('#shaped audio').currentTime")
    assert now == pytest.approx(duration / 10, rel=1e-3)
    until(lambda: "0,255,0" in pixel_colours(browser))  # the played part, in progress colour

    browser.execute_script("document.querySelector('#shaped audio').currentTime = 0.5")
    until(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "#shaped .webui-subtitle").text == "first words"
        )
    )
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
