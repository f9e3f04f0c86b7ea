"""Live webui servers on free loopback ports, driven by the real gradio_client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import webui as gr


@pytest.fixture
def serve() -> Iterator[Callable[[gr.Blocks], str]]:
    """Launch a Blocks app without blocking; returns its URL. Closed after the test."""
    launched: list[gr.Blocks] = []

    def launch(demo: gr.Blocks) -> str:
        demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
        launched.append(demo)
        assert demo.local_url is not None
        return demo.local_url

    yield launch
    for demo in launched:
        demo.close()
