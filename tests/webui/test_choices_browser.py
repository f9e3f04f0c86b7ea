"""Dropdown(multiselect=True) in headless Chromium: chips, filtering, max_choices, removal.

Skipped where Debian's chromium and chromium-driver are absent (see tests/browser.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000") as driver:
        yield driver


def chips(driver: Driver) -> list[str]:
    script = (
        "return [...document.querySelectorAll('#acts .webui-chip > span')].map(s => s.textContent)"
    )
    return driver.execute_script(script)


def test_multiselect_chips_reach_python(browser: Driver, serve: Callable[[gr.Blocks], str]):
    with gr.Blocks() as demo:
        acts = gr.Dropdown(
            [("Ran", "ran"), ("Swam", "swam"), ("Ate", "ate")],
            value=["swam"],
            multiselect=True,
            max_choices=2,
            elem_id="acts",
        )
        shown = gr.Textbox(elem_id="shown")
        acts.change(lambda values: ",".join(values), acts, shown)
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    until(lambda: chips(browser) == ["Swam"])

    field = browser.find_element(By.CSS_SELECTOR, "#acts .webui-chip-input")
    field.click()
    field.send_keys("at")  # filters the offered choices to "Ate"
    offered = "return [...document.querySelectorAll('#acts .webui-option')].map(o => o.textContent)"
    until(lambda: browser.execute_script(offered) == ["Ate"])
    field.send_keys(Keys.ENTER)
    until(lambda: chips(browser) == ["Swam", "Ate"])
    value = "return document.querySelector('#shown input').value"
    until(lambda: browser.execute_script(value) == "swam,ate")
    assert not field.is_enabled()  # max_choices=2 reached

    browser.find_element(By.CSS_SELECTOR, "#acts .webui-chip-remove").click()  # takes "Swam" out
    until(lambda: chips(browser) == ["Ate"])
    until(lambda: browser.execute_script(value) == "ate")
    assert field.is_enabled()
