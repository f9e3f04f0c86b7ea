"""POST /gradio_api/component_server: only marked methods, the session's copy, errors by status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

import webui as gr
from webui.component import server_function
from webui.errors import Error


class Echo(gr.Textbox):
    """A Textbox whose page may ask it to shout its data (sync) or count it (async)."""

    @server_function
    def shout(self, data: Any) -> str:
        if data == "bad":
            raise Error("no bad words")
        if data == "crash":
            raise RuntimeError("internal detail")
        return f"{data}!".upper() + (self.placeholder or "")

    @server_function
    async def count(self, data: Any) -> int:
        return len(data)

    def not_marked(self, data: Any) -> str:
        return "never"


def test_component_server_calls_marked_functions(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        echo = Echo(placeholder="")
        change = gr.Button()
        change.click(lambda: gr.Textbox(placeholder="?"), None, echo, api_name="mark")
    url = serve(demo)
    route = f"{url}gradio_api/component_server"
    call = {"session_hash": "a", "component_id": echo.id, "fn_name": "shout", "data": "hi"}
    assert httpx.post(route, json=call).json() == "HI!"
    assert httpx.post(route + "/", json={**call, "fn_name": "count", "data": [1, 2]}).json() == 2
    assert httpx.post(route, json={**call, "fn_name": "not_marked"}).status_code == 404
    assert httpx.post(route, json={**call, "fn_name": "__init__"}).status_code == 404
    refused = httpx.post(route, json={**call, "data": "bad"})
    assert (refused.status_code, refused.json()["detail"]) == (400, "no bad words")
    crashed = httpx.post(route, json={**call, "data": "crash"})
    assert crashed.status_code == 500 and "internal detail" not in crashed.text
    assert httpx.post(route, json={**call, "component_id": "1"}).status_code == 400
    assert httpx.post(route, json=[call]).status_code == 400
    # session a's copy has the placeholder the event gave it; session b's has not
    httpx.post(f"{url}gradio_api/run/mark", json={"data": [], "session_hash": "a"})
    assert httpx.post(route, json=call).json() == "HI!?"
    assert httpx.post(route, json={**call, "session_hash": "b"}).json() == "HI!"


def test_component_server_needs_a_login(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        echo = Echo()
    demo.launch(prevent_thread_lock=True, quiet=True, auth=("ada", "pw"))
    try:
        assert demo.local_url is not None
        reply = httpx.post(
            f"{demo.local_url}gradio_api/component_server",
            json={"session_hash": "a", "component_id": echo.id, "fn_name": "shout", "data": "x"},
        )
        assert reply.status_code == 401
    finally:
        demo.close()
