"""gr.render: a function that rebuilds its components and events per session when triggered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

import webui as gr


def completed(http: TestClient, fn_index: int, data: list[Any], session: str) -> dict:
    body = {"data": data, "fn_index": fn_index, "session_hash": session}
    reply = http.post("/gradio_api/queue/join", json=body)
    assert reply.status_code == 200, reply.text
    text = http.get("/gradio_api/queue/data", params={"session_hash": session}).text
    messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    return next(m for m in messages if m["msg"] == "process_completed")


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        count = gr.Number(2, precision=0, label="count")

        @gr.render(inputs=count)
        def boxes(n: int) -> None:
            for i in range(n):
                box = gr.Textbox(f"box {i}", label=f"box {i}")
                gr.Button(f"shout {i}").click(lambda text: text.upper(), box, box)

    return demo


def test_render_event_in_the_config() -> None:
    demo = build()
    (event,) = [d.config() for d in demo.dependencies]
    count = demo.blocks[1]
    assert event["targets"] == [[demo.id, "load"], [count.id, "change"]]
    assert event["outputs"] == [] and event["api_visibility"] == "undocumented"
    assert event["trigger_mode"] == "always_last"


def test_each_run_builds_new_blocks_and_events_for_that_session() -> None:
    demo = build()
    static_blocks = set(demo.blocks)
    with TestClient(demo.app) as http:
        first = completed(http, 0, [2], "s")["output"]["render_config"]
        assert [c["props"]["value"] for c in first["components"] if c["type"] == "textbox"] == [
            "box 0",
            "box 1",
        ]
        assert len(first["dependencies"]) == 2
        shout = first["dependencies"][1]
        assert completed(http, shout["id"], ["hey"], "s")["output"]["data"] == ["HEY"]
        # Another session has no such event; a re-render replaces the first one's events.
        assert http.post(
            "/gradio_api/queue/join",
            json={"data": ["x"], "fn_index": shout["id"], "session_hash": "other"},
        ).status_code in (400, 404)
        second = completed(http, 0, [3], "s")["output"]["render_config"]
        assert len(second["dependencies"]) == 3
        assert second["layout"]["id"] == first["layout"]["id"]  # the same Column, rebuilt
        reply = http.post(
            "/gradio_api/queue/join",
            json={"data": ["x"], "fn_index": shout["id"], "session_hash": "s"},
        )
        assert reply.status_code in (400, 404)
    assert set(demo.blocks) == static_blocks  # rendered blocks never join the app's table
    assert len(demo.dependencies) == 1


def test_render_needs_a_blocks() -> None:
    with pytest.raises(RuntimeError, match="inside a"):
        gr.render(inputs=None)


def test_rendered_events_share_concurrency_groups_across_runs() -> None:
    demo = build()
    with TestClient(demo.app) as http:
        first = completed(http, 0, [2], "s")["output"]["render_config"]
        second = completed(http, 0, [2], "t")["output"]["render_config"]
    queue = demo.app.state.webui.queue
    ids = {d.concurrency_id for s in queue.states.values() for d in s.rendered.values()}
    assert len(first["dependencies"]) == len(second["dependencies"]) == 2
    assert len(ids) == 2  # by place in the render, not one group per new lambda
