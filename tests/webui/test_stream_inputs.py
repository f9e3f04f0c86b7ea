"""Streaming inputs (`.stream()`): one event fed chunk by chunk over Gradio's wire format."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

import webui as gr


def messages(http: TestClient, session: str) -> list[dict[str, Any]]:
    text = http.get("/gradio_api/queue/data", params={"session_hash": session}).text
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def join(http: TestClient, data: list[Any], session: str) -> str:
    body = {"data": data, "fn_index": 0, "session_hash": session, "trigger_id": 1}
    reply = http.post("/gradio_api/queue/join", json=body)
    assert reply.status_code == 200
    return reply.json()["event_id"]


def build(**options: Any) -> tuple[gr.Blocks, list[str]]:
    seen: list[str] = []

    def echo(text: str) -> str:
        seen.append(text)
        return text.upper()

    with gr.Blocks() as demo:
        camera = gr.Image(sources="webcam")
        box, out = gr.Textbox(), gr.Textbox()
        camera.stream(echo, box, out, **options)
    return demo, seen


def test_chunks_reach_one_event_until_the_page_closes_it() -> None:
    demo, seen = build(stream_every=0.1, time_limit=10)
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
        dependency = config["dependencies"][0]
        assert (dependency["connection"], dependency["time_limit"]) == ("stream", 10)
        assert dependency["stream_every"] == 0.1 and dependency["targets"][0][1] == "stream"
        assert next(c for c in config["components"] if c["type"] == "image")["props"]["streaming"]
        event_id = join(http, ["a"], "s")
        for chunk in ("b", "c"):
            time.sleep(0.3)  # fn has run on the chunk before: none is replaced by the next
            body = {"data": [chunk], "session_hash": "s", "fn_index": 0}
            assert http.post(f"/gradio_api/stream/{event_id}", json=body).json() == {
                "msg": "success"
            }
        time.sleep(0.3)
        assert http.post(f"/gradio_api/stream/{event_id}/close").status_code == 200
        received = messages(http, "s")
        assert http.post(f"/gradio_api/stream/{event_id}", json=body).status_code == 404  # over
    streamed = [m for m in received if m["msg"] == "process_streaming"]
    assert [m["output"]["data"] for m in streamed] == [["A"], ["B"], ["C"]]
    assert all(0 < m["time_limit"] <= 10 for m in streamed)  # Gradio's: less the first call
    (done,) = [m for m in received if m["msg"] == "process_completed"]
    assert done["output"]["data"] == ["C"] and done["success"] is True
    assert seen == ["a", "b", "c"]


def test_time_limit_ends_the_stream_and_bad_chunks_are_refused() -> None:
    demo, seen = build(time_limit=0.5)
    with TestClient(demo.app) as http:
        event_id = join(http, ["a"], "s")
        wrong = {"data": ["b"], "session_hash": "someone else"}
        assert http.post(f"/gradio_api/stream/{event_id}", json=wrong).status_code == 403
        short = {"data": [], "session_hash": "s"}
        assert http.post(f"/gradio_api/stream/{event_id}", json=short).status_code == 400
        started = time.monotonic()
        received = messages(http, "s")  # ends when time_limit passes with no further chunk
    assert time.monotonic() - started < 5
    (done,) = [m for m in received if m["msg"] == "process_completed"]
    assert done["output"]["data"] == ["A"]
    assert seen == ["a"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: gr.Image(sources=["upload", "webcam"]), r"sources=\['webcam'\]"),
        (lambda: gr.Audio(sources=["upload"]), "'microphone' in sources"),
        (lambda: gr.Image(sources="webcam"), "stream_every must be over 0"),
    ],
)
def test_streams_need_a_recording_source_and_sane_timings(make: Any, match: str) -> None:
    with gr.Blocks(), pytest.raises(ValueError, match=match):
        make().stream(lambda x: x, None, None, stream_every=0 if "every" in match else 0.5)


def test_audio_streams_from_the_microphone_and_names_its_endpoint() -> None:
    with gr.Blocks() as demo:
        microphone = gr.Audio(sources=["microphone"])
        heard = gr.Audio()
        microphone.stream(lambda chunk: chunk, microphone, heard, api_name="listen")
    with TestClient(demo.app) as http:
        info = http.get("/gradio_api/info").json()["named_endpoints"]["/listen"]
    assert [p["component"] for p in info["parameters"]] == ["Audio"]
    assert [r["component"] for r in info["returns"]] == ["Audio"]


def test_audio_streaming_true_is_a_microphone_input_and_a_streamed_output() -> None:
    microphone = gr.Audio(streaming=True, render=False)
    assert microphone.sources == ["microphone"] and microphone.streaming
    with pytest.raises(ValueError, match="needs 'microphone' in sources"):
        gr.Audio(streaming=True, sources=["upload"])
    live = gr.Interface(lambda chunk: chunk, microphone, "audio", live=True)
    assert [d.targets for d in live.dependencies if d.api_name == "lambda"] == [
        [(microphone.id, "stream")]
    ]

    def chunks():
        yield None

    with gr.Blocks():  # a generator's streamed output: tests/webui/test_stream_outputs.py
        event = gr.Button().click(chunks, None, gr.Audio(streaming=True))
    assert event.is_generator and event.outputs[0].streaming


def test_gr_on_with_a_stream_trigger_is_a_stream_event() -> None:
    with gr.Blocks() as demo:
        camera = gr.Image(sources=["webcam"])
        out = gr.Image()
        gr.on([camera.stream], lambda frame: frame, camera, out, stream_every=0.25)
        with pytest.raises(ValueError, match=r"needs sources=\['webcam'\]"):
            gr.on([gr.Image().stream], lambda frame: frame, None, None)
    (event,) = demo.dependencies
    assert (event.connection, event.stream_every, camera.streaming) == ("stream", 0.25, True)
