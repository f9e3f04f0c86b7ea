"""An Interface in headless Chromium: examples fill the inputs and show cached outputs, Flag
writes the CSV, Clear empties, a live interface reruns on input. Skipped without Chromium."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000", console_errors=True) as driver:
        yield driver


@pytest.fixture
def page(browser: Driver, serve: Callable[[gr.Blocks], str]) -> Callable[[gr.Blocks], Driver]:
    def open_page(demo: gr.Blocks) -> Driver:
        browser.get(serve(demo))
        until(lambda: browser.execute_script("return window.webui !== undefined"))
        return browser

    return open_page


def value_of(driver: Driver, selector: str) -> str:
    return driver.execute_script(f"return document.querySelector({selector!r}).value")


def button(driver: Driver, label: str):  # type: ignore[no-untyped-def]
    buttons = driver.find_elements(By.CSS_SELECTOR, "[data-testid=button] button")
    return next(b for b in buttons if b.get_attribute("textContent") == label)


def test_examples_fill_inputs_show_cached_outputs_and_flag(
    page: Callable[[gr.Blocks], Driver], tmp_path: Path
) -> None:
    def greet(name: str, punctuation: str) -> str:
        return f"Hello {name}{punctuation}"

    demo = gr.Interface(
        greet,
        [gr.Textbox(label="Name", elem_id="name"), gr.Textbox(label="Punct", elem_id="punct")],
        gr.Textbox(label="Greeting", elem_id="greeting"),
        examples=[["Ada", "!"], ["Grace", "?"], ["Alan", "."]],
        cache_examples=True,
        preload_example=False,
        flagging_dir=str(tmp_path),
    )
    driver = page(demo)
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-testid=dataset] tr.webui-dataset-sample")
    assert [r.text.split() for r in rows] == [["Ada", "!"], ["Grace", "?"], ["Alan", "."]]
    headers = driver.find_elements(By.CSS_SELECTOR, "[data-testid=dataset] th")
    assert [h.text for h in headers] == ["Name", "Punct"]
    rows[1].click()
    until(lambda: value_of(driver, "#name input") == "Grace")
    assert value_of(driver, "#punct input") == "?"
    until(lambda: value_of(driver, "#greeting input") == "Hello Grace?")  # the cached output

    button(driver, "Flag").click()
    dataset = tmp_path / "dataset1.csv"
    until(lambda: dataset.exists() and len(dataset.read_text().splitlines()) == 2)
    with open(dataset, newline="") as f:
        header, row = list(csv.reader(f))
    assert header[:3] == ["Name", "Punct", "Greeting"] and row[:3] == ["Grace", "?", "Hello Grace?"]

    button(driver, "Clear").click()
    until(
        lambda: value_of(driver, "#name input") == "" and value_of(driver, "#greeting input") == ""
    )
    driver.find_element(By.CSS_SELECTOR, "#name input").send_keys("Bob")
    driver.find_element(By.CSS_SELECTOR, "#punct input").send_keys("!")
    button(driver, "Submit").click()
    until(lambda: value_of(driver, "#greeting input") == "Hello Bob!")
    assert not [e for e in driver.get_log("browser") if "favicon" not in e["message"]]


def test_live_interface_reruns_on_input(page: Callable[[gr.Blocks], Driver]) -> None:
    demo = gr.Interface(
        lambda text: text[::-1],
        gr.Textbox(elem_id="text"),
        gr.Textbox(elem_id="reversed"),
        live=True,
        examples=[["stressed"]],
    )
    driver = page(demo)
    assert not [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text == "Submit"]
    driver.find_element(By.CSS_SELECTOR, "#text input").send_keys("abc")
    until(lambda: value_of(driver, "#reversed input") == "cba")
    driver.find_element(
        By.CSS_SELECTOR, "[data-testid=dataset] button.webui-dataset-sample"
    ).click()
    until(lambda: value_of(driver, "#text input") == "stressed")  # a gallery of one input
    until(lambda: value_of(driver, "#reversed input") == "desserts")  # the fill is a change


def test_stop_button_of_a_generator_stops_it(page: Callable[[gr.Blocks], Driver]) -> None:
    import time

    def count(n: float):  # type: ignore[no-untyped-def]
        text = ""
        for i in range(int(n)):
            text += f"{i} "
            time.sleep(0.05)
            yield text

    demo = gr.Interface(count, gr.Number(1000, elem_id="n"), gr.Textbox(elem_id="count"))
    driver = page(demo)
    stop = button(driver, "Stop")
    assert not stop.is_displayed()
    button(driver, "Submit").click()
    until(lambda: stop.is_displayed() and not button(driver, "Submit").is_displayed())
    until(lambda: len(value_of(driver, "#count input").split()) >= 3)
    stop.click()
    until(lambda: button(driver, "Submit").is_displayed() and not stop.is_displayed())
    stopped = value_of(driver, "#count input")
    time.sleep(0.3)
    assert value_of(driver, "#count input") == stopped  # nothing more streamed
