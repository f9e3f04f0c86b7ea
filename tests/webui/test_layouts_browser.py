"""Layouts in headless Chromium: a tab's blocks enter the page when first shown, unless
Tab(render_children=True) puts them there (hidden) from the start."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000") as driver:
        yield driver


def test_tab_children_enter_the_page_when_shown_or_at_once_with_render_children(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    with gr.Blocks() as demo:
        with gr.Tabs():
            with gr.Tab("First"):
                gr.Markdown("first")
            with gr.Tab("Lazy"):
                lazy = gr.Textbox(elem_id="lazy")
            with gr.Tab("Eager", render_children=True):
                gr.Textbox(elem_id="eager")
        gr.Button("Fill", elem_id="fill").click(lambda: "filled", None, lazy)
    browser.get(serve(demo))
    present = "return document.getElementById(arguments[0]) !== null"
    until(lambda: browser.execute_script(present, "eager"))
    assert not browser.execute_script(present, "lazy")
    browser.find_element(By.CSS_SELECTOR, "#fill button").click()  # updates it while away
    tabs = browser.find_elements(By.CSS_SELECTOR, ".webui-tab")
    until(
        lambda: (
            browser.execute_script("return document.querySelector('.webui-status')") is None or True
        )
    )
    tabs[1].click()
    until(lambda: browser.execute_script(present, "lazy"))
    value = "return document.querySelector('#lazy textarea, #lazy input')?.value"
    until(lambda: browser.execute_script(value) == "filled")


def test_a_row_with_a_height_scrolls_and_tab_buttons_follow_scale_and_interactive(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    with gr.Blocks() as demo:
        with gr.Row(height=80, elem_id="short"):
            gr.Textbox(lines=12)
        with gr.Tabs():
            with gr.Tab("Wide", scale=3):
                gr.Markdown("wide")
            with gr.Tab("Narrow", scale=1):
                gr.Markdown("narrow")
            with gr.Tab("Locked", interactive=False):
                gr.Markdown("locked")
    browser.get(serve(demo))
    until(lambda: browser.find_elements(By.CSS_SELECTOR, ".webui-tab"))
    row = browser.find_element(By.ID, "short")
    assert browser.execute_script("return arguments[0].getBoundingClientRect().height", row) == 80
    assert browser.execute_script("return arguments[0].scrollHeight > 80", row)
    wide, narrow, locked = browser.find_elements(By.CSS_SELECTOR, ".webui-tab")
    assert wide.size["width"] > narrow.size["width"]
    assert not locked.is_enabled() and wide.is_enabled()
