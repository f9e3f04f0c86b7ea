"""The event model: updates, progress and toasts, cancel, chaining, concurrency, load and Timer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gradio_client import Client
from starlette.testclient import TestClient

import webui as gr


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def queue_messages(http: TestClient, fn_index: int, data: list[Any], session: str) -> list[dict]:
    """Join one event over the raw protocol and read its session's stream to the end."""
    body = {"data": data, "fn_index": fn_index, "session_hash": session}
    assert http.post("/gradio_api/queue/join", json=body).status_code == 200
    text = http.get("/gradio_api/queue/data", params={"session_hash": session}).text
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


# Updates ------------------------------------------------------------------------------------


def build_update_app() -> gr.Blocks:
    def hide(text: str) -> tuple[dict[str, Any], gr.Dropdown]:
        return gr.update(visible=False, value=text + "!"), gr.Dropdown(choices=["p", "q"])

    with gr.Blocks() as demo:
        box = gr.Textbox(label="Box")
        choice = gr.Dropdown(["a", "b"], label="Choice")
        gr.Button().click(hide, box, [box, choice], api_name="hide")
        gr.Button().click(lambda c: c, choice, box, api_name="pick")
        gr.Button().click(lambda: gr.skip(), None, box, api_name="keep")
    return demo


def test_updates_travel_as_update_dicts(serve: Callable[[gr.Blocks], str]) -> None:
    client = Client(serve(build_update_app()), verbose=False)
    box, choice = client.predict("hi", api_name="/hide")
    assert box == {"__type__": "update", "visible": False, "value": "hi!"}
    assert choice == {"__type__": "update", "choices": [["p", "p"], ["q", "q"]]}
    assert client.predict(api_name="/keep") == {"__type__": "update"}


def test_updated_props_apply_to_that_session_only(serve: Callable[[gr.Blocks], str]) -> None:
    url = serve(build_update_app())
    changed, untouched = Client(url, verbose=False), Client(url, verbose=False)
    changed.predict("hi", api_name="/hide")
    assert changed.predict("q", api_name="/pick") == "q"  # the session's new choices
    with pytest.raises(Exception, match="not in the list of choices: \\['p', 'q'\\]"):
        changed.predict("a", api_name="/pick")
    assert untouched.predict("a", api_name="/pick") == "a"
    with pytest.raises(Exception, match="not in the list of choices: \\['a', 'b'\\]"):
        untouched.predict("q", api_name="/pick")


def test_unknown_update_props_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(lambda: gr.update(lines=3, sparkle=True), None, box)
    with TestClient(demo.app) as http:
        messages = queue_messages(http, 0, [], "s")
    done = messages[-2] if messages[-1]["msg"] == "close_stream" else messages[-1]
    assert done["output"]["data"] == [{"__type__": "update", "lines": 3}]
    assert "no properties ['sparkle']" in caplog.text


# Progress and toasts ------------------------------------------------------------------------


def test_progress_is_observed_by_the_client(serve: Callable[[gr.Blocks], str]) -> None:
    release = threading.Event()

    def work(text: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        progress(0.5, desc="half way")
        release.wait(10)
        return text

    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(work, box, box, api_name="work")
    client = Client(serve(demo), verbose=False)
    job = client.submit("done", api_name="/work")
    assert wait_for(lambda: job.status().progress_data is not None)
    unit = job.status().progress_data[0]
    assert (unit.progress, unit.desc, unit.unit) == (0.5, "half way", "steps")
    release.set()
    assert job.result() == "done"


def test_tqdm_progress_and_toasts_on_the_stream() -> None:
    def work(n: float, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        gr.Info("starting")
        total = sum(progress.tqdm(range(int(n)), desc="counting"))
        gr.Warning("almost done", title="Careful")
        return str(total)

    with gr.Blocks() as demo:
        count, out = gr.Number(), gr.Textbox()
        gr.Button().click(work, count, out)
    with TestClient(demo.app) as http:
        messages = queue_messages(http, 0, [4], "s")
    kinds = [m["msg"] for m in messages]
    assert kinds.index("log") < kinds.index("progress") < kinds.index("process_completed")
    logs = [m for m in messages if m["msg"] == "log"]
    assert [(m["log"], m["level"], m["title"]) for m in logs] == [
        ("starting", "info", "Info"),
        ("almost done", "warning", "Careful"),
    ]
    steps = [m["progress_data"][0] for m in messages if m["msg"] == "progress"]
    assert steps[0]["index"] == 0 and steps[-1]["index"] == 4
    assert {s["length"] for s in steps} == {4} and {s["desc"] for s in steps} == {"counting"}
    assert all(m["event_id"] == messages[0]["event_id"] for m in messages if m["event_id"])


def test_toasts_outside_an_event_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="webui.progress")
    gr.Info("plain info")
    gr.Warning("plain warning")
    gr.Progress()(0.5)  # no event: nothing to report to, and no error
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "plain info"),
        ("WARNING", "plain warning"),
    ]


def test_progress_rejects_fractions_out_of_range() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        gr.Progress()(1.5)


# Cancel, chaining, queue=False --------------------------------------------------------------


def test_cancel_stops_a_running_generator(serve: Callable[[gr.Blocks], str]) -> None:
    steps: list[int] = []
    closed = threading.Event()

    def count() -> Iterator[str]:
        try:
            for i in range(10_000):
                steps.append(i)
                time.sleep(0.02)
                yield str(i)
        finally:
            closed.set()

    with gr.Blocks() as demo:
        out = gr.Textbox()
        gr.Button().click(count, None, out, api_name="count")
    client = Client(serve(demo), verbose=False)
    job = client.submit(api_name="/count")
    assert wait_for(lambda: len(job.outputs()) >= 3)
    job.cancel()
    assert closed.wait(5), "the generator was not closed"
    stopped_at = len(steps)
    time.sleep(0.2)
    assert len(steps) == stopped_at
    queue = demo.app.state.webui.queue
    assert wait_for(lambda: not queue.events)


def test_cancels_stop_the_sessions_running_events() -> None:
    def slow() -> Iterator[str]:
        for i in range(1000):
            time.sleep(0.02)
            yield str(i)

    with gr.Blocks() as demo:
        out = gr.Textbox()
        running = gr.Button().click(slow, None, out)
        gr.Button().click(lambda: "stopped", None, out, cancels=[running])
        stop = gr.Button().click(None, None, None, cancels=running)
    assert stop.config()["types"] == {"generator": False, "cancel": True}
    with TestClient(demo.app) as http:
        body = {"data": [], "fn_index": 0, "session_hash": "s"}
        slow_id = http.post("/gradio_api/queue/join", json=body).json()["event_id"]
        other = {"data": [], "fn_index": 0, "session_hash": "other"}
        other_id = http.post("/gradio_api/queue/join", json=other).json()["event_id"]
        messages = queue_messages(http, 1, [], "s")
        queue = http.app.state.webui.queue
        assert other_id in queue.events  # another session's event runs on
        http.post("/gradio_api/cancel", json={"event_id": other_id, "session_hash": "other"})
    ends = {m["event_id"]: m for m in messages if m["msg"] == "process_completed"}
    assert ends[slow_id]["output"] == {} and ends[slow_id]["success"] is True


def test_then_and_success_chain_in_the_config() -> None:
    def may_fail(text: str) -> str:
        if text == "bad":
            raise gr.Error("bad input")
        return text

    with gr.Blocks() as demo:
        box = gr.Textbox()
        first = gr.Button().click(may_fail, box, box)
        after = first.then(lambda t: t + "+then", box, box)
        ok = first.success(lambda t: t + "+ok", box, box, show_progress="hidden")
    assert (after.trigger_after, after.trigger_only_on_success) == (first.id, False)
    assert (ok.trigger_after, ok.trigger_only_on_success) == (first.id, True)
    config = ok.config()
    assert config["trigger_after"] == first.id and config["show_progress"] == "hidden"
    with TestClient(demo.app) as http:
        failed = queue_messages(http, first.id, ["bad"], "s")
        completed = next(m for m in failed if m["msg"] == "process_completed")
        assert completed["success"] is False and completed["output"]["error"] == "bad input"
        reply = http.post("/gradio_api/run/lambda_1", json={"data": ["x"]})
        assert reply.json()["data"] == ["x+ok"]


def test_queue_false_events_run_over_the_run_route() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(str.upper, box, box, queue=False, api_name="upper")
    with TestClient(demo.app) as http:
        assert http.get("/config").json()["dependencies"][0]["queue"] is False
        assert http.post("/gradio_api/run/upper", json={"data": ["a"]}).json()["data"] == ["A"]


def test_listener_options_are_checked_and_shown() -> None:
    with gr.Blocks():
        box = gr.Textbox()
        changed = box.change(str.upper, box, box)
        clicked = gr.Button().click(str.upper, box, box, trigger_mode="multiple")
        with pytest.raises(ValueError, match="show_progress must be one of"):
            box.submit(str.upper, box, box, show_progress="loud")
        with pytest.raises(ValueError, match="trigger_mode must be one of"):
            box.submit(str.upper, box, box, trigger_mode="twice")
        with pytest.raises(TypeError, match="cancels must list events"):
            box.submit(str.upper, box, box, cancels=["x"])
    assert changed.config()["trigger_mode"] == "always_last"
    assert clicked.config()["trigger_mode"] == "multiple"


# Concurrency --------------------------------------------------------------------------------


def most_at_once(client: Client, calls: list[str], tracker: dict[str, int]) -> int:
    jobs = [client.submit(api_name=name) for name in calls]
    for job in jobs:
        job.result()
    return tracker["peak"]


def tracked_sleep(tracker: dict[str, int], lock: threading.Lock) -> Callable[[], str]:
    def sleep() -> str:
        with lock:
            tracker["now"] += 1
            tracker["peak"] = max(tracker["peak"], tracker["now"])
        time.sleep(0.25)
        with lock:
            tracker["now"] -= 1
        return "ok"

    return sleep


def test_concurrency_limit_per_event_and_shared_id(serve: Callable[[gr.Blocks], str]) -> None:
    lock = threading.Lock()
    pair = {"now": 0, "peak": 0}
    shared = {"now": 0, "peak": 0}
    with gr.Blocks() as demo:
        out = gr.Textbox()
        gr.Button().click(
            tracked_sleep(pair, lock), None, out, concurrency_limit=2, api_name="pair"
        )
        for name in ("left", "right"):
            gr.Button().click(
                tracked_sleep(shared, lock),
                None,
                out,
                concurrency_limit=1,
                concurrency_id="gpu",
                api_name=name,
            )
    demo.queue(default_concurrency_limit=None)
    client = Client(serve(demo), verbose=False)
    assert most_at_once(client, ["/pair"] * 5, pair) == 2
    assert most_at_once(client, ["/left", "/right", "/left", "/right"], shared) == 1


# Load and Timer -----------------------------------------------------------------------------


def test_load_events_in_the_config() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
    on_open = demo.load(lambda: "hello", None, box)
    ticking = demo.load(lambda: "tick", None, box, every=0.5)
    assert on_open.targets == [(demo.id, "load")]
    timer = ticking.timer
    assert timer is not None and timer.value == 0.5 and timer.active
    assert ticking.targets == [(demo.id, "load"), (timer.id, "tick")]
    config = ticking.config()
    assert config["types"]["generator"] is True
    assert timer.config()["props"]["active"] is True
    with pytest.raises(ValueError, match="positive number of seconds"):
        gr.Timer(0)


def test_timer_ticks_stream_until_the_timer_stops_itself(
    serve: Callable[[gr.Blocks], str],
) -> None:
    def tick(count: int) -> tuple[int, str, Any]:
        count += 1
        return count, str(count), gr.Timer(active=count < 3)

    with gr.Blocks() as demo:
        timer = gr.Timer(0.05)
        count = gr.State(0)
        out = gr.Textbox()
        timer.tick(tick, count, [count, out, timer], api_name="tick")
    client = Client(serve(demo), verbose=False)
    job = client.submit(api_name="/tick")
    outputs = list(job)
    assert [o[0] for o in outputs] == ["1", "2", "3"]
    assert outputs[-1][1] == {"__type__": "update", "active": False}
    queue = demo.app.state.webui.queue
    assert wait_for(lambda: not queue.events)


def test_timer_ticks_end_on_cancel(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        out = gr.Textbox()
    calls: list[float] = []

    def clock() -> str:
        calls.append(time.monotonic())
        return str(len(calls))

    demo.load(clock, None, out, every=1.0, api_name="clock")
    client = Client(serve(demo), verbose=False)
    started = time.monotonic()
    job = client.submit(api_name="/clock")
    assert wait_for(lambda: len(job.outputs()) >= 2)
    assert calls[0] - started < 0.8  # the page-open call comes at once, then one per tick
    assert calls[1] - calls[0] >= 0.99
    job.cancel()
    queue = demo.app.state.webui.queue
    assert wait_for(lambda: not queue.events)
