"""gr.I18n in headless Chromium: marked text shows in the browser's language."""

from __future__ import annotations

from collections.abc import Callable

from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import headless_chromium, until  # skips without a browser


def test_labels_values_and_event_outputs_show_in_the_browser_language(
    serve: Callable[[gr.Blocks], str],
) -> None:
    i18n = gr.I18n(
        en={"name": "Name", "ada": "Ada (en)", "go": "Go"},
        fr={"name": "Nom", "ada": "Ada (fr)", "go": "Aller"},
    )
    with gr.Blocks() as demo:
        gr.Markdown(i18n("name"), elem_id="title")
        box = gr.Textbox(label=i18n("name"), elem_id="box")
        gr.Button(i18n("go"), elem_id="go").click(lambda: i18n("ada"), None, box)
    url = serve(demo)
    demo.launch(i18n=i18n, prevent_thread_lock=True, quiet=True)
    with headless_chromium("800,600") as driver:
        agent = driver.execute_script("return navigator.userAgent")
        language = {"userAgent": agent, "acceptLanguage": "fr-CA,fr"}  # navigator.languages
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", language)
        driver.get(url)
        title = "return document.querySelector('#title')?.innerText ?? ''"
        until(lambda: driver.execute_script(title).strip() == "Nom")
        assert "Nom" in driver.find_element(By.CSS_SELECTOR, "#box").text  # the label
        assert driver.find_element(By.CSS_SELECTOR, "#go button").text == "Aller"
        driver.find_element(By.CSS_SELECTOR, "#go button").click()
        value = "return document.querySelector('#box input, #box textarea').value"
        until(lambda: driver.execute_script(value) == "Ada (fr)")
