"""Gradio's look options in headless Chromium: info lines, placeholders, copy buttons,
Markdown heading links and heights, JSON indices, the Dataframe's row numbers, cut cells,
static columns and search, media playback positions, the ImageEditor's canvas and webcam, and
props kept by key across a gr.render.

Skipped where Debian's chromium and chromium-driver are absent (see tests/browser.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    fake_camera = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
    with headless_chromium("1200,3000", console_errors=True, arguments=fake_camera) as driver:
        yield driver


def script(driver: Driver, code: str) -> object:
    return driver.execute_script(code)


def copied_value(data: gr.CopyData) -> str:
    return data.value


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Number(label="N", info="A digit", placeholder="0-9", elem_id="number")
        words = gr.Textbox("Hello", label="Words", info="Say it", buttons=["copy"], elem_id="words")
        copied = gr.Textbox(label="Copied", elem_id="copied")
        words.copy(copied_value, None, copied)
        shout = gr.Button("Shout", elem_id="shout")
        gr.Textbox("quiet", buttons=[shout], elem_id="loud")
        shout.click(lambda: "SHOUTED", None, copied)
        gr.Markdown("# Title\n\n## Part", header_links=True, height=120, elem_id="md")
        gr.JSON({"items": ["a", "b"]}, show_indices=True, elem_id="json")
        gr.Dataframe(
            [["abcdefghijkl", 1], ["short", 2]],
            headers=["text", "n"],
            max_chars=5,
            show_row_numbers=True,
            static_columns=[1],
            column_widths=[200, "30%"],
            wrap=True,
            interactive=True,
            elem_id="table",
        )
        gr.Dataframe([[1]], elem_id="plain")
        audio = gr.Audio(gr.media.get_audio("sax.wav"), playback_position=0.5, elem_id="audio")
        gr.Button("Seek", elem_id="seek").click(
            lambda: gr.Audio(playback_position=1.0), None, audio
        )
        gr.ImageEditor(
            canvas_size=(400, 200),
            webcam_options=gr.WebcamOptions(mirror=False),
            sources=["upload", "webcam"],
            elem_id="editor",
        )
        label = gr.Textbox("Picked", label="Label for the radio", elem_id="label")
        rerender = gr.Button("Rerender", elem_id="rerender")

        @gr.render(triggers=[rerender.click])
        def radios() -> None:
            radio = gr.Radio(
                ["a", "b"], label="Choices", key="choices",
                preserved_by_key=["value", "label"], interactive=True, elem_id="radio",
            )  # fmt: skip
            label.submit(lambda text: gr.Radio(label=text), label, radio)

    return demo


def test_look_options_in_the_page(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    browser.get(serve(build()))
    until(lambda: script(browser, "return document.getElementById('webui-app').dataset.ready"))

    assert browser.find_element(By.CSS_SELECTOR, "#number .webui-info").text == "A digit"
    placeholder = browser.find_element(By.CSS_SELECTOR, "#number input").get_attribute(
        "placeholder"
    )
    assert placeholder == "0-9"
    assert browser.find_element(By.CSS_SELECTOR, "#words .webui-info").text == "Say it"
    browser.find_element(By.CSS_SELECTOR, "#words .webui-copy").click()
    until(lambda: script(browser, "return document.querySelector('#copied input').value"))
    assert script(browser, "return document.querySelector('#copied input').value") == "Hello"
    assert not browser.find_element(By.ID, "shout").is_displayed()  # moved to the toolbar
    browser.find_element(By.CSS_SELECTOR, "#loud .webui-toolbar-button").click()
    until(
        lambda: script(browser, "return document.querySelector('#copied input').value") == "SHOUTED"
    )

    links = browser.find_elements(By.CSS_SELECTOR, "#md .webui-header-link")
    assert [link.get_attribute("href").split("#")[1] for link in links] == ["title", "part"]
    assert script(browser, "return document.querySelector('#md .webui-display').style.height")
    assert "0: " in browser.find_element(By.CSS_SELECTOR, "#json pre").text

    cell = browser.find_element(By.CSS_SELECTOR, '#table td[data-row="0"][data-col="0"]')
    assert cell.text == "abcde…"
    cell.click()
    assert cell.text == "abcdefghijkl"
    numbers = browser.find_elements(By.CSS_SELECTOR, "#table td.webui-row-number")
    assert [n.text for n in numbers] == ["1", "2"]
    static = browser.find_element(By.CSS_SELECTOR, '#table td[data-row="0"][data-col="1"]')
    ActionChains(browser).double_click(static).perform()
    assert not static.find_elements(By.TAG_NAME, "input")  # a static column is not editable
    assert static.value_of_css_property("white-space") == "normal"  # wrap=True
    header = browser.find_element(By.CSS_SELECTOR, '#table th[data-col="0"]')
    assert header.get_attribute("style") == "width: 200px;"
    assert not browser.find_elements(By.CSS_SELECTOR, "#plain .webui-dataframe-filter")
    assert browser.find_elements(By.CSS_SELECTOR, "#plain .webui-copy")  # Gradio's default

    position = "return document.querySelector('#audio audio').currentTime"
    until(lambda: script(browser, position) == 0.5)
    browser.find_element(By.CSS_SELECTOR, "#seek button").click()
    until(lambda: script(browser, position) == 1.0)

    canvas = browser.find_element(By.CSS_SELECTOR, "#editor .webui-editor-canvas")
    assert canvas.value_of_css_property("aspect-ratio") == "400 / 200"
    buttons = browser.find_elements(By.CSS_SELECTOR, "#editor button")
    next(b for b in buttons if b.text == "Webcam").click()
    until(lambda: script(browser, "return document.querySelector('#editor video').videoWidth"))
    next(b for b in buttons if b.text == "Capture").click()
    until(
        lambda: script(browser, f"return window.webui.views.get({editor_id(browser)}).getValue()")
    )

    browser.find_element(By.CSS_SELECTOR, "#rerender button").click()
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#radio input"))
    browser.find_elements(By.CSS_SELECTOR, "#radio input")[1].click()
    field = browser.find_element(By.CSS_SELECTOR, "#label input")
    field.send_keys(" one\n")
    until(lambda: "Picked one" in browser.find_element(By.CSS_SELECTOR, "#radio").text)
    browser.find_element(By.CSS_SELECTOR, "#rerender button").click()
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#radio input"))
    until(lambda: "Picked one" in browser.find_element(By.CSS_SELECTOR, "#radio").text)
    checked = script(browser, "return document.querySelectorAll('#radio input')[1].checked")
    assert checked is True
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def editor_id(browser: Driver) -> int:
    return int(
        script(
            browser,
            "return [...window.webui.views.values()].find((v) => v.props.elem_id === 'editor').id",
        )
    )
