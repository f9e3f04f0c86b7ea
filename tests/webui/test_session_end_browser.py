"""A page in headless Chromium holds its session open; closing it runs the unload events."""

from __future__ import annotations

from collections.abc import Callable

import webui as gr
from tests.browser import headless_chromium, until  # skips without a browser


def test_closing_the_page_runs_unload_for_its_session(serve: Callable[[gr.Blocks], str]) -> None:
    ended: list[str] = []

    def unloaded(request: gr.Request) -> None:
        ended.append(request.session_hash or "")

    with gr.Blocks() as demo:
        gr.Textbox(elem_id="box")
        demo.unload(unloaded)
    url = serve(demo)
    with headless_chromium("800,600") as driver:
        driver.get(url)
        until(lambda: driver.execute_script("return document.querySelector('#box') !== null"))
        until(lambda: demo.app.state.webui.session_ends.open)  # its heartbeat connected
        assert ended == []  # the page is open
    until(lambda: len(ended) >= 1)  # the browser closed it (a navigation may keep the page in
    assert len(ended) == 1, ended  # Chromium's back-forward cache, its heartbeat open)
    assert len(ended[0]) > 8  # the page's own session hash
