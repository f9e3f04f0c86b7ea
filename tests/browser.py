"""Headless Chromium for the browser tests: Debian's `chromium` and `chromium-driver`.

CI installs both (`.ci/run`); a module that imports this one is skipped, saying why, where
selenium or either package is missing. The driver is the system one: nothing is downloaded.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")
from selenium import webdriver
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver as Driver

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None or not CHROMEDRIVER.exists():
    pytest.skip(
        "headless browser tests need Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

__all__ = ["Driver", "headless_chromium", "until"]


@contextmanager
def headless_chromium(
    window_size: str,
    *,
    console_errors: bool = False,
    console_level: str | None = None,
    arguments: Sequence[str] = (),
) -> Iterator[Driver]:
    """A headless Chromium session.

    Args:
        window_size: "width,height" in pixels.
        console_errors: keep the page's SEVERE console lines (`driver.get_log("browser")`).
        console_level: keep the console lines from this level up ("ALL", "INFO", ...) instead.
        arguments: more Chromium switches (`--use-fake-device-for-media-stream`, ...).
    """
    assert CHROMIUM is not None  # else the importing module is skipped
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--window-size={window_size}",
        *arguments,
    ):
        options.add_argument(argument)
    if console_level or console_errors:
        options.set_capability("goog:loggingPrefs", {"browser": console_level or "SEVERE"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `condition` until it returns something truthy; fail with its last value.

    A condition that finds elements and reads them can meet one the page redrew between the
    find and the read (a StaleElementReferenceException), or run its script before the page has
    drawn the element at all (a JavascriptException reading a property of null). Both count as
    "not yet": the next poll finds the element; one that never appears fails with the error as
    the last value.
    """
    deadline = time.monotonic() + timeout
    result: Any = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (StaleElementReferenceException, JavascriptException) as early:
            result = early
        else:
            if result:
                return result
        time.sleep(0.02)
    raise AssertionError(f"condition not met in {timeout} s (last value {result!r})")
