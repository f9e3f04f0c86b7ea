"""ImageSlider and AnnotatedImage in headless Chromium: the slider clips the first image at its
position and follows updates; annotation layers stack over the base image and the legend fires
`select`. Skipped where chromium and chromium-driver are absent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1400", console_errors=True) as driver:
        yield driver


def build_app() -> gr.Blocks:
    pair = (gr.media.get_image("bus.png"), gr.media.get_image("lion.jpg"))
    with gr.Blocks() as demo:
        slider = gr.ImageSlider(pair, slider_position=30, elem_id="slider")
        position = gr.Number(30, elem_id="position")
        position.submit(lambda p: gr.ImageSlider(slider_position=p), position, slider)
        unified = gr.ImageSlider(type="pil", interactive=True, elem_id="unified")
        unified.upload(lambda pair: (pair[0], pair[0].rotate(90)), unified, unified)
        annotated = gr.AnnotatedImage(color_map={"bus": "#00ff00"}, elem_id="annotated")
        chosen = gr.Textbox(elem_id="chosen")
        gr.Button("Annotate", elem_id="annotate").click(
            lambda: (
                np.zeros((64, 96, 3), np.uint8),
                [((4, 4, 40, 40), "bus"), ((50, 8, 90, 60), "sky")],
            ),
            None,
            annotated,
        )

        def pick(evt: gr.SelectData) -> str:
            return f"{evt.index}:{evt.value}"

        annotated.select(pick, None, chosen)
    return demo


def clip(browser: Driver) -> str:
    return browser.execute_script(
        "return document.querySelector('#slider .webui-slider-before').style.clipPath"
    )


def test_slider_and_annotations(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    browser.get(serve(build_app()))
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#slider img.webui-slider-before"))
    assert browser.find_elements(By.CSS_SELECTOR, ".webui-unsupported") == []
    assert clip(browser) == "inset(0px 70% 0px 0px)"
    box = browser.find_element(By.CSS_SELECTOR, "#position input")
    box.clear()
    box.send_keys("80\n")
    until(lambda: clip(browser) == "inset(0px 20% 0px 0px)")
    loaded = (
        "return [...document.querySelectorAll('#slider img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    until(lambda: browser.execute_script(loaded))

    picker = browser.find_element(By.CSS_SELECTOR, "#unified input[type=file]")
    picker.send_keys(gr.media.get_image("logo.png"))
    until(
        lambda: browser.execute_script(
            "const b = document.querySelector('#unified .webui-slider-before');"
            "return !b.hidden && b.src.includes('/file=')"
        )
    )

    browser.find_element(By.CSS_SELECTOR, "#annotate").click()
    until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#annotated .webui-annotation")) == 2)
    labels = browser.find_elements(By.CSS_SELECTOR, "#annotated .webui-annotated-label")
    assert [label.text for label in labels] == ["bus", "sky"]
    swatch = labels[0].find_element(By.CSS_SELECTOR, ".webui-swatch")
    assert swatch.value_of_css_property("background-color") == "rgba(0, 255, 0, 1)"
    labels[1].click()
    until(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "#chosen textarea, #chosen input").get_attribute(
                "value"
            )
            == "1:sky"
        )
    )
    assert not [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
