"""The pages of `jaxserve run configs/default.yaml` in headless Chromium, as a user drives them.

Chat streams into the page token by token, Stop aborts the engine request, the sampling column
changes the reply, and the Dashboard tab's counters follow generation. Screenshots of both pages
go to the test's `tmp_path`, and also to `$JAXSERVE_SCREENSHOTS` when it names a folder (for CI
artifacts). Needs Debian's `chromium` and `chromium-driver`; skipped where they are absent.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests import browser as chromium  # skips the module without a browser
from tests.conftest import DefaultServer

Driver = chromium.Driver

pytestmark = [pytest.mark.cpu, pytest.mark.slow]

LAST_REPLY = "return document.querySelector('#chatbot .webui-message:last-child')?.innerText ?? ''"
FOOTER_MARK = " reply tokens"


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with chromium.headless_chromium("1280,1100", console_errors=True) as driver:
        yield driver


def until(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    """`tests.browser.until`, with a minute by default: long replies take that."""
    return chromium.until(condition, timeout)


def control(driver: Driver, label: str, css: str) -> WebElement:
    """The input `css` inside the field captioned `label` (the sampling column has no ids)."""
    field = driver.find_element(By.XPATH, f"//label[span[normalize-space()='{label}']]")
    return field.find_element(By.CSS_SELECTOR, css)


def set_number(driver: Driver, label: str, value: float | None) -> None:
    """Types into a Slider's number box or a Number field, as a user does; Tab commits."""
    box = control(driver, label, "input[type=number]")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE if value is None else str(value), Keys.TAB)
    shown = "" if value is None else str(value)
    until(lambda: box.get_attribute("value") == shown, timeout=5)


def aborted(server: DefaultServer) -> float:
    return server.metrics()["request_success_total:abort"]


def send(driver: Driver, text: str, *, enter: bool = False) -> None:
    box = driver.find_element(By.CSS_SELECTOR, "#message input")
    box.send_keys(text)
    if enter:
        box.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.XPATH, "//button[normalize-space()='Send']").click()
    until(lambda: box.get_attribute("value") == "")  # the event took it


def finished_reply(driver: Driver) -> str:
    """The last reply once its event has completed, without the footer (its timings vary)."""
    text = until(lambda: (t := driver.execute_script(LAST_REPLY)) and FOOTER_MARK in t and t)
    # The event's completion re-applies its outputs; a Clear before then would be undone.
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-status"))
    body, _, footer = text.rstrip().rpartition("\n")
    assert "finished: length" in footer, footer
    return body.strip()


def ask(driver: Driver, text: str) -> str:
    """A fresh conversation (Clear), one message, the finished reply."""
    driver.find_element(By.XPATH, "//button[normalize-space()='Clear']").click()
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-message"))
    send(driver, text)
    until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-message")) == 2)
    return finished_reply(driver)


def screenshot(driver: Driver, name: str, folder: Path) -> Path:
    """The page as PNG in `folder`, and a copy in `$JAXSERVE_SCREENSHOTS` if that is set."""
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000, f"the {name} screenshot is only {len(data)} bytes"
    if artifacts := os.environ.get("JAXSERVE_SCREENSHOTS"):
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(artifacts) / path.name)
    return path


def test_chat_stop_sampling_and_dashboard(
    browser: Driver, default_server: DefaultServer, tmp_path: Path
):
    driver = browser
    driver.get(default_server.url)
    until(lambda: driver.execute_script("return window.webui !== undefined"))
    assert "jaxserve" in driver.title

    # A long reply streams into the page; Stop ends it mid-way and the engine aborts it.
    set_number(driver, "Max tokens", 900)
    ignore_eos = control(driver, "Ignore end of sequence", "input[type=checkbox]")
    if not ignore_eos.is_selected():
        ignore_eos.click()
    before = aborted(default_server)
    send(driver, "Tell me a long story.", enter=True)
    lengths: list[int] = []
    deadline = time.monotonic() + 120
    while len(set(lengths)) < 5:
        assert time.monotonic() < deadline, f"the reply did not stream: lengths {lengths}"
        shown = driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-message")
        if len(shown) == 2:
            text = driver.execute_script(LAST_REPLY)
            assert FOOTER_MARK not in text, "the reply finished before Stop"
            if text:
                lengths.append(len(text))
        time.sleep(0.01)
    # Clicked as a script: the reply keeps growing and reflowing the page while Stop is
    # pressed, and a native click at the button's last position can land on a line of it.
    stop = driver.find_element(By.CSS_SELECTOR, "#chat-stop button")
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", stop
    )
    until(lambda: aborted(default_server) == before + 1)
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#chatbot .webui-status"))
    stopped = driver.execute_script(LAST_REPLY)
    assert stopped and FOOTER_MARK not in stopped
    until(lambda: default_server.metrics()["num_requests_running"] == 0)
    assert driver.execute_script(LAST_REPLY) == stopped  # nothing streamed after the abort

    # Greedy twice is one reply; temperature 1 with a seed is another, the same for that seed
    # and different for a new one.
    set_number(driver, "Max tokens", 16)
    set_number(driver, "Temperature", 0)
    greedy = ask(driver, "Name a colour.")
    assert greedy
    assert ask(driver, "Name a colour.") == greedy
    set_number(driver, "Temperature", 1)
    set_number(driver, "Seed (empty: random)", 1)
    seeded = ask(driver, "Name a colour.")
    assert seeded != greedy
    assert ask(driver, "Name a colour.") == seeded
    set_number(driver, "Seed (empty: random)", 2)
    assert ask(driver, "Name a colour.") != seeded
    playground_png = screenshot(driver, "playground", tmp_path)

    # The Dashboard's token counters move with generation.
    driver.find_element(By.XPATH, "//button[@role='tab' and normalize-space()='Dashboard']").click()
    driver.find_element(By.XPATH, "//summary[normalize-space()='Counters']").click()
    # Each tick replaces the element: ask the page, never hold one (it would go stale).
    shown = "return document.querySelector('pre.webui-json')?.offsetParent != null"
    until(lambda: driver.execute_script(shown))

    def generated() -> float | None:
        # Each tick replaces the element, so it is looked up afresh.
        text = driver.execute_script("return document.querySelector('pre.webui-json').innerText")
        return json.loads(text).get("generation_tokens_total") if text.strip() else None

    first = default_server.metrics()["generation_tokens_total"]
    until(lambda: generated() == first)  # the idle server's figure, as /metrics has it
    body = {"model": "default", "prompt": "Once upon", "max_tokens": 8, "ignore_eos": True}
    httpx.post(f"{default_server.api}/completions", json=body, timeout=60).raise_for_status()
    until(lambda: generated() == first + 8)
    assert driver.find_elements(By.CSS_SELECTOR, "svg polyline"), "no plotted line"
    tables = [t.text for t in driver.find_elements(By.TAG_NAME, "table")]  # Markdown tables
    assert any("Time to first token" in t for t in tables), tables
    assert any("KV pages" in t for t in tables), tables
    dashboard_png = screenshot(driver, "dashboard", tmp_path)
    assert playground_png.read_bytes() != dashboard_png.read_bytes()

    assert not driver.find_elements(By.CSS_SELECTOR, ".webui-toast-error, .webui-fatal")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
