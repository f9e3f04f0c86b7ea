"""The Chatbot and ChatInterface in headless Chromium: thoughts, reactions, edits, examples.

Skipped where Debian's `chromium` and `chromium-driver` are absent (see tests/browser.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000") as driver:
        yield driver


@pytest.fixture
def page(browser: Driver, serve: Callable[[gr.Blocks], str]) -> Callable[[gr.Blocks], Driver]:
    def open_page(demo: gr.Blocks) -> Driver:
        browser.get(serve(demo))
        until(lambda: browser.execute_script("return window.webui !== undefined"))
        return browser

    return open_page


IDLE = "return [...window.webui.runner.active.values()].every((runs) => runs.size === 0)"


def settle(driver: Driver) -> None:
    """Wait until no event of the page runs (a chain's follow-ups start as each step ends)."""
    for _ in range(2):
        until(lambda: driver.execute_script(IDLE))
        time.sleep(0.1)


def texts(driver: Driver, selector: str, attribute: str | None = None) -> list[str]:
    read = f"e.getAttribute({attribute!r})" if attribute else "e.textContent"
    script = f"return [...document.querySelectorAll({selector!r})].map(e => {read})"
    return driver.execute_script(script)


def test_thoughts_nest_and_open_while_pending(page: Callable[[gr.Blocks], Driver]) -> None:
    conversation = [
        gr.ChatMessage("Let me look", metadata={"title": "Searching", "id": 1, "status": "done",
                                                "duration": 1.5, "log": "2 sites"}),
        gr.ChatMessage("found it", metadata={"title": "Site A", "id": 2, "parent_id": 1}),
        gr.ChatMessage("still going", metadata={"title": "Thinking", "status": "pending"}),
        gr.ChatMessage("The answer"),
    ]  # fmt: skip
    with gr.Blocks() as demo:
        gr.Chatbot(conversation, elem_id="chat")
    driver = page(demo)
    until(lambda: len(texts(driver, "#chat .webui-thought-title")) == 3)
    titles = texts(driver, "#chat .webui-thought-title")
    assert titles[0] == "Searching 2 sites (1.5s)" and titles[2].startswith("⏳")
    nested = "return document.querySelector('#chat details[data-index=\"0\"] details') !== null"
    assert driver.execute_script(nested)  # Site A sits inside Searching
    opened = "return [...document.querySelectorAll('#chat details')].map(d => d.open)"
    assert driver.execute_script(opened) == [False, True, True]  # done closes; none/pending open
    assert texts(driver, "#chat .webui-message")[-1].startswith("The answer")


def test_reactions_edits_and_options_fire_their_events(
    page: Callable[[gr.Blocks], Driver],
) -> None:
    def liked(data: gr.LikeData) -> str:
        return f"{data.index}:{data.liked}"

    def edited(data: gr.EditData) -> str:
        return f"{data.index}:{data.previous_value}->{data.value}"

    def chose(data: gr.SelectData) -> str:
        return f"option {data.value}"

    value = [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "reply", "options": [{"value": "more"}]},
    ]
    with gr.Blocks() as demo:
        chat = gr.Chatbot(value, elem_id="chat", editable="user", feedback_options=["Like", "Spam"],
                          feedback_value=["Spam"])  # fmt: skip
        out = gr.Textbox(elem_id="out")
        chat.like(liked, None, out)
        chat.edit(edited, None, out)
        chat.option_select(chose, None, out)
    driver = page(demo)
    result = "return document.querySelector('#out textarea, #out input').value"
    pressed = "#chat .webui-like[aria-pressed=true]"
    until(lambda: texts(driver, pressed, "aria-label") == ["Spam"])
    driver.find_element(By.CSS_SELECTOR, "#chat .webui-like[data-liked=true]").click()
    until(lambda: driver.execute_script(result) == "1:True")
    assert texts(driver, pressed, "data-icon") == ["👍"]
    # The buttons' glyphs are drawn by CSS: a message's text is only its own.
    assert texts(driver, "#chat .webui-message-assistant")[0].startswith("reply")
    driver.find_element(By.CSS_SELECTOR, "#chat .webui-chat-options button").click()
    until(lambda: driver.execute_script(result) == "option more")
    edit = "#chat .webui-message[data-index='{}'] .webui-chat-edit"
    assert not driver.find_elements(By.CSS_SELECTOR, edit.format(1))  # editable="user"
    driver.find_element(By.CSS_SELECTOR, edit.format(0)).click()
    editor = driver.find_element(By.CSS_SELECTOR, "#chat .webui-chat-editor")
    editor.clear()
    editor.send_keys("better question")
    driver.find_element(By.CSS_SELECTOR, "#chat .webui-chat-editing button").click()
    until(lambda: driver.execute_script(result) == "0:question->better question")


def test_a_chat_example_runs_and_the_conversation_continues(
    page: Callable[[gr.Blocks], Driver],
) -> None:
    calls: list[str] = []

    def reply(message: str, history: list[dict[str, Any]]) -> str:
        calls.append(message)
        return f"{message} after {len(history)}"

    demo = gr.ChatInterface(reply, examples=["first"], example_labels=["Start here"])
    driver = page(demo)
    focused = "return document.activeElement?.closest('.webui-chat-autofocus') !== null"
    until(lambda: driver.execute_script(focused))  # autofocus=True: the textbox has the focus
    example = until(lambda: driver.find_elements(By.CSS_SELECTOR, ".webui-chat-example"))
    assert example[0].text == "Start here"
    example[0].click()
    messages = "return [...document.querySelectorAll('.webui-message')].map(m => m.textContent)"
    until(lambda: driver.execute_script(messages) == ["first", "first after 0"])
    settle(driver)  # the chat's state is synced after the reply shows
    driver.find_element(By.CSS_SELECTOR, ".webui-chat-retry").click()
    until(lambda: len(calls) == 2)
    until(lambda: driver.execute_script(messages) == ["first", "first after 0"])
    settle(driver)
    driver.find_element(By.CSS_SELECTOR, ".webui-chat-undo").click()
    until(lambda: driver.execute_script(messages) == [])
    box = ".webui-chat-autofocus :is(textarea, input)"
    until(lambda: driver.execute_script(f"return document.querySelector({box!r}).value") == "first")
    settle(driver)
    box_element = driver.find_element(By.CSS_SELECTOR, box)
    box_element.send_keys(Keys.ENTER)
    until(lambda: driver.execute_script(messages) == ["first", "first after 0"])
    settle(driver)
    driver.find_element(By.CSS_SELECTOR, ".webui-chat-clear").click()
    until(lambda: driver.execute_script(messages) == [])
    settle(driver)
    box_element.send_keys("again", Keys.ENTER)
    until(lambda: driver.execute_script(messages) == ["again", "again after 0"])
