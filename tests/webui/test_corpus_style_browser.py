"""The corpus-style apps (tests/webui/corpus/) in one headless Chromium: each app opens with no
console errors, one of its events runs in the page with the result asserted, and a screenshot
of it is saved (under pytest's tmp folder, or $WEBUI_SCREENSHOT_DIR).

Skipped where Debian's chromium and chromium-driver are absent (see tests/browser.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import webui as gr
from tests.browser import Driver, headless_chromium  # skips without a browser
from tests.webui.corpus import APPS, FAMILIES, CorpusApp, Page

# A camera and a microphone that need no permission prompt, for streaming-media apps.
FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000", console_level="ALL", arguments=FAKE_MEDIA) as driver:
        yield driver


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The folder the screenshots go to, named on the terminal so it can be found."""
    chosen = os.environ.get("WEBUI_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("corpus_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\ncorpus-style app screenshots: {folder}")
    return folder


def test_the_table_covers_every_family() -> None:
    working = [app for app in APPS if app.known_bug is None]
    assert len(working) >= 20
    assert {app.family for app in working} == set(FAMILIES)
    assert len({app.name for app in APPS}) == len(APPS)


def as_param(app: CorpusApp) -> object:
    """The app as a test case; one that a known webui bug fails is a strict xfail."""
    if app.known_bug is None:
        return pytest.param(app, id=app.name)
    return pytest.param(
        app, id=app.name, marks=pytest.mark.xfail(strict=True, reason=f"webui bug: {app.known_bug}")
    )


@pytest.mark.parametrize("app", [as_param(app) for app in APPS])
def test_app_runs_an_event_without_console_errors(
    app: CorpusApp,
    browser: Driver,
    serve: Callable[[gr.Blocks], str],
    screenshots: Path,
    tmp_path: Path,
) -> None:
    demo, exercise = app.build(tmp_path)
    browser.get_log("browser")  # drop what the previous app left
    page = Page(browser, serve(demo), tmp_path)
    page.open()
    assert [e.text for e in page.all(".webui-unsupported")] == []
    failure: Exception | None = None
    try:
        exercise(page)
    except Exception as error:
        failure = error
    browser.save_screenshot(str(screenshots / f"{app.name}.png"))
    lines = console(browser)
    browser.get("about:blank")  # the page's timers stop before its server closes
    if failure is not None:
        failure.add_note("browser console:\n" + "\n".join(lines))
        raise failure
    # The page's favicon is a data: URL, so there is no favicon 404 to forgive.
    assert [line for line in lines if line.startswith("SEVERE")] == []


def console(browser: Driver) -> list[str]:
    """The browser console's lines (every level) since the last call, as "LEVEL message"."""
    return [f"{entry['level']} {entry['message']}" for entry in browser.get_log("browser")]
