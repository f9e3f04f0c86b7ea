"""Gradio's theme variables style the page in headless Chromium: a theme's .set() shows."""

from __future__ import annotations

import time
from collections.abc import Callable

from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import headless_chromium, until  # skips without a browser


def test_set_variables_reach_the_elements_that_read_them(
    serve: Callable[[gr.Blocks], str],
) -> None:
    theme = gr.themes.Default(primary_hue="blue").set(
        loader_color="#FF0000",
        block_title_text_weight="700",
        button_primary_shadow="0 0 0 3px rgb(0, 128, 0)",
        button_large_padding="20px",
    )

    def slow(text: str) -> str:
        time.sleep(2)
        return text

    with gr.Blocks() as demo:
        box = gr.Textbox(label="Name", elem_id="box")
        out = gr.Textbox(label="Out", elem_id="out")
        gr.Button("Run", variant="primary", elem_id="run").click(slow, box, out)
    url = serve(demo)
    demo.launch(theme=theme, prevent_thread_lock=True, quiet=True)
    with headless_chromium("800,600") as driver:
        driver.get(url)
        button = "document.querySelector('#run button')"
        until(lambda: driver.execute_script(f"return {button} !== null"))
        style = f"return getComputedStyle({button})"
        assert driver.execute_script(f"{style}.boxShadow") == "rgb(0, 128, 0) 0px 0px 0px 3px"
        assert driver.execute_script(f"{style}.paddingTop") == "20px"
        label = "return getComputedStyle(document.querySelector('#box .webui-label')).fontWeight"
        assert driver.execute_script(label) == "700"
        driver.find_element(By.CSS_SELECTOR, "#run button").click()
        pending = "document.querySelector('.webui-pending .webui-field')"
        until(lambda: driver.execute_script(f"return {pending} !== null"))
        border = f"return getComputedStyle({pending}).borderTopColor"
        assert driver.execute_script(border) == "rgb(255, 0, 0)"  # loader_color
