"""The corpus apps' table entry (`CorpusApp`) and the `Page` their exercises drive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

import webui as gr
from tests.browser import Driver, until

FAMILIES = ("interface", "events", "components", "chat", "streaming")


@dataclass
class Page:
    """One served app open in the shared browser, with the few moves the exercises make."""

    driver: Driver
    url: str
    tmp: Path

    def open(self, query: str = "") -> None:
        """Load the page (with a query string such as "?who=ada") and wait until it is built."""
        self.driver.get(self.url + query)
        until(lambda: self.driver.execute_script("return window.webui !== undefined"))

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def shown(self, selector: str) -> bool:
        """Whether `selector` is in the page and visible (a tab not yet opened may be absent)."""
        every = "[...document.querySelectorAll(arguments[0])]"
        return bool(self.script(f"return {every}.some((e) => e.checkVisibility())", selector))

    def value(self, selector: str) -> Any:
        """The `.value` of the first element matching `selector` (None when there is none)."""
        script = "return document.querySelector(arguments[0])?.value ?? null"
        return self.driver.execute_script(script, selector)

    def text(self, selector: str) -> str:
        script = "return document.querySelector(arguments[0])?.textContent ?? ''"
        return self.driver.execute_script(script, selector)

    def type(self, selector: str, *keys: str) -> None:
        self.find(selector).send_keys(*keys)

    def click(self, selector: str) -> None:
        self.find(selector).click()

    def visible_button(self, label: str) -> WebElement | None:
        """The first shown button whose text is `label` (Interface's Submit, Flag, ...)."""
        return self.script(
            "return [...document.querySelectorAll('button')]"
            ".find((b) => b.textContent === arguments[0] && b.checkVisibility()) ?? null",
            label,
        )

    def button(self, label: str) -> WebElement:
        found = self.visible_button(label)
        assert found is not None, f"no visible button {label!r}"
        return found

    def until_value(self, selector: str, expected: Any, timeout: float = 10.0) -> None:
        """Wait for `selector`'s value to be `expected`; fail showing the value it has."""
        self._until(lambda: self.value(selector), expected, selector, timeout)

    def until_text(self, selector: str, expected: str, timeout: float = 10.0) -> None:
        """Wait for `selector`'s text (stripped) to be `expected`."""
        self._until(lambda: self.text(selector).strip(), expected, selector, timeout)

    def _until(self, read: Callable[[], Any], expected: Any, selector: str, timeout: float) -> None:
        try:
            until(lambda: read() == expected, timeout)
        except AssertionError:
            raise AssertionError(
                f"{selector} shows {read()!r}, not {expected!r}, after {timeout} s"
            ) from None

    def until_idle(self, timeout: float = 10.0) -> None:
        """Wait until no block shows an event's progress (every run has completed)."""
        until(lambda: not self.all(".webui-pending"), timeout)

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)


Exercise = Callable[[Page], None]
Build = Callable[[Path], tuple[gr.Blocks, Exercise]]


@dataclass(frozen=True)
class CorpusApp:
    """A small app in the style of Gradio's demos and the one event its exercise runs."""

    name: str
    family: str
    covers: str  # the features of its family that it shows
    build: Build  # (tmp folder) -> (the app, its exercise)
    known_bug: str | None = None  # a webui bug that fails it today: a strict xfail


@dataclass
class AppTable:
    """The apps of one family, in the order they are registered with `@table(covers)`."""

    family: str
    apps: list[CorpusApp] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r} is not one of {FAMILIES}")

    def __call__(self, covers: str, *, known_bug: str | None = None) -> Callable[[Build], Build]:
        def register(build: Build) -> Build:
            self.apps.append(CorpusApp(build.__name__, self.family, covers, build, known_bug))
            return build

        return register
