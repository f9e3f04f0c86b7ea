"""The event system in headless Chromium: SelectData from a table click, gr.on with two
triggers, a js= event, queue=False, a State's change listener, and a gr.render re-render.

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


def value_of(driver: Driver, selector: str) -> str:
    return driver.execute_script(f"return document.querySelector({selector!r}).value")


def build() -> gr.Blocks:
    def picked(evt: gr.SelectData) -> str:
        return f"{evt.value} at {evt.index} row {evt.row_value}"

    with gr.Blocks() as demo:
        table = gr.Dataframe([[1, 2], [3, 4]], headers=["a", "b"], elem_id="table")
        selected = gr.Textbox(label="Selected", elem_id="selected")
        table.select(picked, None, selected)

        box = gr.Textbox(label="Box", elem_id="box")
        go = gr.Button("Go", elem_id="go")
        shouted = gr.Textbox(label="Shouted", elem_id="shouted")
        gr.on([go.click, box.submit], lambda x: x.upper(), box, shouted)

        flipped = gr.Textbox(label="Flipped", elem_id="flipped")
        gr.Button("Flip", elem_id="flip").click(
            None, box, flipped, js="(x) => x.split('').reverse().join('')"
        )
        trimmed = gr.Textbox(label="Trimmed", elem_id="trimmed")
        gr.Button("Trim", elem_id="trim").click(
            lambda x: f"[{x}]", box, trimmed, js="(x) => x.trim()", queue=False
        )

        count = gr.State(0)
        counted = gr.Number(label="Counted", elem_id="counted")
        gr.Button("Count", elem_id="count").click(lambda n: n + 1, count, count)
        count.change(lambda n: n * 10, count, counted)

        how_many = gr.Number(1, precision=0, label="How many", elem_id="how_many")

        @gr.render(inputs=how_many)
        def boxes(n: int) -> None:
            for i in range(n):
                box = gr.Textbox(f"item {i}", elem_id=f"item{i}", key=f"item{i}")
                gr.Button(f"Shout {i}", elem_id=f"shout{i}").click(str.upper, box, box)

    return demo


def test_select_on_js_queue_false_and_state_change(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    browser.get(serve(build()))
    until(lambda: browser.execute_script("return window.webui !== undefined"))

    browser.find_element(By.CSS_SELECTOR, '#table td[data-row="1"][data-col="0"]').click()
    until(lambda: value_of(browser, "#selected input") == "3 at [1, 0] row [3, 4]")

    box = browser.find_element(By.CSS_SELECTOR, "#box input")
    box.send_keys("  abc ")
    browser.find_element(By.CSS_SELECTOR, "#go button").click()
    until(lambda: value_of(browser, "#shouted input") == "  ABC ")
    box.send_keys("d", Keys.ENTER)  # the second trigger of the same gr.on event
    until(lambda: value_of(browser, "#shouted input") == "  ABC D")

    browser.find_element(By.CSS_SELECTOR, "#flip button").click()  # js only, no server
    until(lambda: value_of(browser, "#flipped input") == "d cba  ")
    browser.find_element(By.CSS_SELECTOR, "#trim button").click()  # js, then fn over /run
    until(lambda: value_of(browser, "#trimmed input") == "[abc d]")

    browser.find_element(By.CSS_SELECTOR, "#count button").click()
    until(lambda: value_of(browser, "#counted input") == "10")
    browser.find_element(By.CSS_SELECTOR, "#count button").click()
    until(lambda: value_of(browser, "#counted input") == "20")


def test_render_rebuilds_on_change_and_its_events_run(
    browser: Driver, serve: Callable[[gr.Blocks], str]
) -> None:
    browser.get(serve(build()))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#item0 input"))  # the load render
    assert not browser.find_elements(By.CSS_SELECTOR, "#item1")
    number = browser.find_element(By.CSS_SELECTOR, "#how_many input")
    number.clear()
    number.send_keys("3", Keys.TAB)
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#item2 input"))
    browser.find_element(By.CSS_SELECTOR, "#shout2 button").click()  # an event made by render
    until(lambda: value_of(browser, "#item2 input") == "ITEM 2")
    # A keyed box keeps what was typed into it when the render runs again.
    browser.find_element(By.CSS_SELECTOR, "#item0 input").send_keys(" edited")
    number.clear()
    number.send_keys("2", Keys.TAB)
    until(lambda: not browser.find_elements(By.CSS_SELECTOR, "#item2"))
    assert value_of(browser, "#item0 input") == "item 0 edited"


def test_chatbot_like_sends_like_data(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    def liked(evt: gr.LikeData) -> str:
        return f"{'up' if evt.liked else 'down'} {evt.index} {evt.value}"

    with gr.Blocks() as demo:
        chat = gr.Chatbot(
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            elem_id="chat",
        )
        verdict = gr.Textbox(elem_id="verdict")
        chat.like(liked, None, verdict)
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chat .webui-like")) == 2  # bot only
    browser.find_element(By.CSS_SELECTOR, '#chat .webui-like[data-liked="false"]').click()
    # The value is the message's content as the page holds it: Gradio 6's list of parts.
    until(lambda: value_of(browser, "#verdict input").startswith("down 1 [{'type': 'text'"))


def test_accordion_expand_and_collapse(browser: Driver, serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        with gr.Accordion("More", open=False, elem_id="more") as more:
            gr.Markdown("inside")
        seen = gr.Textbox(elem_id="seen")
        more.expand(lambda: "expanded", None, seen)
        more.collapse(lambda: "collapsed", None, seen)
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    browser.find_element(By.CSS_SELECTOR, "#more summary").click()
    until(lambda: value_of(browser, "#seen input") == "expanded")
    browser.find_element(By.CSS_SELECTOR, "#more summary").click()
    until(lambda: value_of(browser, "#seen input") == "collapsed")


def test_js_true_event_runs_on_the_server(browser: Driver, serve: Callable[[gr.Blocks], str]):
    with gr.Blocks() as demo:
        with gr.Row(elem_id="task") as row:
            gr.Textbox("a task")
        done = gr.Button("Done", elem_id="done")
        done.click(lambda: gr.Row(visible=False), None, row, js=True)  # Gradio's todo_list_js
    browser.get(serve(demo))
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    assert browser.find_element(By.ID, "task").is_displayed()
    browser.find_element(By.CSS_SELECTOR, "#done button").click()
    until(lambda: not browser.find_element(By.ID, "task").is_displayed())
