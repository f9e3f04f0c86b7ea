"""The HTTP routes directly: REST /call and /run, cancel, bad requests, the /config shape."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

import webui as gr


def build() -> gr.Blocks:
    def upper(text: str) -> str:
        return text.upper()

    def stream(text: str):
        for i in range(1, len(text) + 1):
            yield text[:i]

    async def slow(text: str) -> str:
        await asyncio.sleep(30)
        return text

    with gr.Blocks() as demo:
        with gr.Tab("one"):
            box = gr.Textbox(label="In", value="x")
        with gr.Tab("two"):
            out = gr.Textbox(label="Out")
        with gr.Accordion("more"):
            gr.Markdown("hello")
        gr.Button("Up").click(upper, box, out)
        gr.Button("Stream").click(stream, box, out)
        gr.Button("Slow").click(slow, box, out, api_name="slow")
    demo.queue(default_concurrency_limit=None)
    return demo


@pytest.fixture
def http() -> TestClient:
    with TestClient(build().app) as client:
        yield client


def test_config_shape(http: TestClient) -> None:
    config = http.get("/config").json()
    assert config["protocol"] == "sse_v3" and config["api_prefix"] == "/gradio_api"
    types = [c["type"] for c in config["components"]]
    assert types.count("tabs") == 1 and types.count("tabitem") == 2
    assert "accordion" in types
    assert [d["api_name"] for d in config["dependencies"]] == ["upper", "stream", "slow"]
    dep = config["dependencies"][1]
    assert dep["types"] == {"generator": True, "cancel": False}
    ids = {c["id"] for c in config["components"]}
    assert set(dep["inputs"]) | set(dep["outputs"]) <= ids
    assert config["layout"]["id"] == 0


def test_call_two_steps(http: TestClient) -> None:
    event_id = http.post("/gradio_api/call/stream", json={"data": ["abc"]}).json()["event_id"]
    text = http.get(f"/gradio_api/call/stream/{event_id}").text
    assert text.strip().splitlines()[-2:] == ["event: complete", 'data: ["abc"]']
    assert 'event: generating\ndata: ["ab"]' in text
    assert http.get(f"/gradio_api/call/stream/{event_id}").status_code == 404


def test_run_returns_the_whole_output(http: TestClient) -> None:
    reply = http.post("/gradio_api/run/upper", json={"data": ["abc"]})
    assert reply.status_code == 200 and reply.json()["data"] == ["ABC"]
    assert http.post("/gradio_api/run/stream", json={"data": ["ab"]}).json()["data"] == ["ab"]
    assert http.post("/gradio_api/run/upper", json={"data": []}).status_code == 500


def test_run_reports_the_states_it_changed() -> None:
    """A State written outside the queue fires `.change` in the page with that run's answer,
    not later with some other event's (ChatInterface syncs its state so)."""
    with gr.Blocks() as demo:
        kept = gr.State("start")
        gr.Button().click(lambda: "new", None, kept, queue=False, api_name="keep")
    with TestClient(demo.app) as http:
        body = {"data": [], "session_hash": "s"}
        first = http.post("/gradio_api/run/keep", json=body).json()
        again = http.post("/gradio_api/run/keep", json=body).json()
    assert first["changed_state_ids"] == [kept.id]
    assert again["changed_state_ids"] == []  # reported once; the same value is no change


def test_bad_requests_name_the_problem(http: TestClient) -> None:
    join = "/gradio_api/queue/join"
    reply = http.post(join, json={"data": ["a"], "session_hash": "s"})
    assert reply.status_code == 400 and "function index" in reply.json()["detail"]
    reply = http.post(join, json={"data": ["a"], "fn_index": 99, "session_hash": "s"})
    assert reply.status_code == 404 and "fn_index 99" in reply.json()["detail"]
    reply = http.post(join, json={"data": "a", "fn_index": 0, "session_hash": "s"})
    assert reply.status_code == 400 and "'data' list" in reply.json()["detail"]
    assert http.post(join, content=b"{nope").status_code == 400
    reply = http.post("/gradio_api/call/nothing", json={"data": []})
    assert reply.status_code == 404 and "/upper" in reply.json()["detail"]


def test_unknown_session_stream_says_not_found(http: TestClient) -> None:
    text = http.get("/gradio_api/queue/data", params={"session_hash": "nobody"}).text
    assert '"session_not_found": true' in text


def test_cancel_ends_a_running_event(http: TestClient) -> None:
    body = {"data": ["a"], "fn_index": 2, "session_hash": "s1"}
    event_id = http.post("/gradio_api/queue/join", json=body).json()["event_id"]
    queue = http.app.state.webui.queue
    assert event_id in queue.events
    cancel = {"event_id": event_id, "session_hash": "s1", "fn_index": 2}
    assert http.post("/gradio_api/cancel", json=cancel).json() == {"success": True}
    text = http.get("/gradio_api/queue/data", params={"session_hash": "s1"}).text
    assert '"msg": "process_completed"' in text and '"close_stream"' in text
    assert queue.bookkeeping() == {"events": 0, "channels": 0, "call_sinks": 0}


def test_queue_full_is_503() -> None:
    demo = build()
    demo.queue(max_size=1, default_concurrency_limit=None)
    with TestClient(demo.app) as http:
        body = {"data": ["a"], "fn_index": 2, "session_hash": "s"}
        assert http.post("/gradio_api/queue/join", json=body).status_code == 200
        reply = http.post("/gradio_api/queue/join", json=body)
        assert reply.status_code == 503 and "Max size is 1" in reply.json()["detail"]
