"""The end of a session: Blocks.unload events, State(delete_callback=), Blocks(delete_cache=)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import webui as gr


def run_event(url: str, fn_index: int, data: list[Any], session: str) -> dict[str, Any]:
    """The completed message of one event joined for `session` over the queue protocol."""
    joined = httpx.post(
        f"{url}gradio_api/queue/join",
        json={"fn_index": fn_index, "data": data, "session_hash": session},
    )
    assert joined.status_code == 200, joined.text
    text = httpx.get(f"{url}gradio_api/queue/data", params={"session_hash": session}).text
    messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    return next(m for m in messages if m["msg"] == "process_completed")


class Heartbeat:
    """A page's heartbeat stream for `session`, open until `close()`."""

    def __init__(self, url: str, session: str):
        self.client = httpx.Client(timeout=5)
        request = self.client.build_request("GET", f"{url}gradio_api/heartbeat/{session}")
        self.response = self.client.send(request, stream=True)
        self.lines = self.response.iter_lines()  # dropped, it would close the stream
        assert next(self.lines) == "data: ALIVE"

    def close(self) -> None:
        self.response.close()
        self.client.close()


def until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def build(seen: list[Any]) -> gr.Blocks:
    def unloaded(request: gr.Request) -> None:
        seen.append(("unload", request.session_hash))

    with gr.Blocks() as demo:
        state = gr.State(0, delete_callback=lambda value: seen.append(("deleted", value)))
        number = gr.Number()
        gr.Button().click(lambda s: (s + 1, s + 1), state, [number, state], api_name="inc")
        demo.unload(unloaded)
    return demo


def test_the_last_heartbeat_closing_runs_unload_then_deletes_the_state(
    serve: Callable[[gr.Blocks], str],
) -> None:
    seen: list[Any] = []
    demo = build(seen)
    url = serve(demo)
    demo.app.state.webui.session_ends.closed_ttl_s = 0.3
    assert run_event(url, 0, [None], "s1")["output"]["data"][0] == 1
    assert run_event(url, 0, [None], "s1")["output"]["data"][0] == 2
    first, second = Heartbeat(url, "s1"), Heartbeat(url, "s1")
    first.close()
    time.sleep(0.5)
    assert seen == []  # a page of the session is still open
    second.close()
    until(lambda: ("unload", "s1") in seen)
    until(lambda: ("deleted", 2) in seen)
    assert seen == [("unload", "s1"), ("deleted", 2)]
    assert run_event(url, 0, [None], "s1")["output"]["data"][0] == 1  # a fresh session


def test_a_heartbeat_coming_back_keeps_the_state(serve: Callable[[gr.Blocks], str]) -> None:
    seen: list[Any] = []
    demo = build(seen)
    url = serve(demo)
    demo.app.state.webui.session_ends.closed_ttl_s = 0.5
    run_event(url, 0, [None], "s2")
    Heartbeat(url, "s2").close()
    until(lambda: ("unload", "s2") in seen)
    back = Heartbeat(url, "s2")
    time.sleep(0.8)
    assert ("deleted", 1) not in seen
    assert run_event(url, 0, [None], "s2")["output"]["data"][0] == 2
    back.close()


def test_unload_is_private_and_sessions_the_queue_forgets_reach_delete_callback() -> None:
    seen: list[Any] = []
    demo = build(seen)
    unload = demo.dependencies[-1]
    assert unload.targets == [(demo.id, "unload")] and unload.api_visibility == "private"
    queue = demo.app.state.webui.queue
    queue.max_sessions = 1
    queue.session_state("a").values[demo.dependencies[0].inputs[0].id] = 7
    queue.session_state("b")  # pushes "a" out
    until(lambda: ("deleted", 7) in seen)
    with pytest.raises(TypeError, match="delete_callback"):
        gr.State(delete_callback="print")  # type: ignore[arg-type]


def test_delete_cache_removes_old_uploads_and_refuses_bad_values(tmp_path: Any) -> None:
    with gr.Blocks(delete_cache=(60, 3600)) as demo:
        gr.Textbox()
    assert demo.delete_cache == (60.0, 3600.0)
    ends = demo.app.state.webui.session_ends
    old = demo.files.upload_dir / "x" / "old.txt"
    new = demo.files.cache_dir / "y" / "new.txt"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("data")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert ends.delete_old_files(3600) == 1
    assert not old.exists() and not old.parent.exists() and new.exists()
    for bad in ((60,), (0, 10), ("60", 10), 60):
        with pytest.raises(ValueError, match="delete_cache"):
            gr.Blocks(delete_cache=bad)  # type: ignore[arg-type]
    demo.close()


def test_per_session_cache_entries_go_when_the_heartbeat_closes(
    serve: Callable[[gr.Blocks], str],
) -> None:
    @gr.cache(per_session=True)
    def double(x: float) -> float:
        return x * 2

    with gr.Blocks() as demo:
        number = gr.Number()
        gr.Button().click(double, number, number, api_name="double")
    url = serve(demo)
    assert run_event(url, 0, [2], "s3")["output"]["data"][0] == 4
    run_event(url, 0, [2], "s4")
    assert len(double.cache) == 2
    Heartbeat(url, "s3").close()
    until(lambda: len(double.cache) == 1)  # s4's entry stays
