"""gr.HTML in headless Chromium: templates, scoped CSS, @children, js_on_load and its events."""

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


def test_templates_children_and_custom_events_work_in_the_page(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    def capitalise(name: str) -> str:
        return name.capitalize()

    with gr.Blocks() as demo:
        with gr.HTML(
            "ada",
            html_template=(
                "<h2 class='title'>${title}: ${value}</h2>@children<button class='go'>Go</button>"
            ),
            css_template="border: 3px solid rgb(255, 0, 0); .title { color: rgb(0, 0, 255); }",
            js_on_load="""
                element.querySelector('.go').addEventListener('click', async () => {
                    props.value = await server.capitalise('grace');
                    trigger('launch', {when: 'now'});
                });
            """,
            server_functions=[capitalise],
            title="Name",
            elem_id="card",
        ) as card:
            inner = gr.Textbox("inside", elem_id="inner")
        out = gr.Textbox(elem_id="out")

        def launched(value: str, text: str, evt: gr.EventData) -> str:
            return f"{value}/{text}/{evt.when}"

        card.launch(launched, [card, inner], out)
    browser.get(serve(demo))
    title = "return document.querySelector('#card .title')?.textContent"
    until(lambda: browser.execute_script(title) == "Name: ada")
    colour = "return getComputedStyle(document.querySelector('#card .title')).color"
    assert browser.execute_script(colour) == "rgb(0, 0, 255)"
    border = "return getComputedStyle(document.querySelector('[data-webui-html]')).borderTopColor"
    assert browser.execute_script(border) == "rgb(255, 0, 0)"
    inside = "return document.querySelector('#card #inner') !== null"
    assert browser.execute_script(inside)  # the child block sits where @children was
    browser.find_element(By.CSS_SELECTOR, "#card .go").click()
    value = "return document.querySelector('#out textarea, #out input')?.value"
    until(lambda: browser.execute_script(value) == "Grace/inside/now")  # server.capitalise ran
    assert browser.execute_script(title) == "Name: Grace"  # props.value re-rendered the template
