"""Overload (503), graceful drain on shutdown, and a dead engine thread (503 health, 500 calls).

These tests stop their servers, so each starts its own on the shared engine.
"""

from __future__ import annotations

import threading
import time

import openai
import pytest

from tests.jaxserve.server.conftest import MODEL_NAME, start_server

pytestmark = pytest.mark.cpu

CHAT = [{"role": "user", "content": "hello"}]


@pytest.fixture
def llm(server_llm):
    return server_llm


def long_stream(client, max_tokens: int = 40):
    return client.chat.completions.create(
        model=MODEL_NAME,
        messages=CHAT,
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
        extra_body={"ignore_eos": True},
    )


def first_content(stream) -> None:
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            return


def test_overload_is_503_and_the_queue_recovers(llm, monkeypatch):
    # One sequence at a time makes "one running, one waiting" deterministic.
    monkeypatch.setattr(llm.engine.scheduler, "max_num_seqs", 1)
    live = start_server(llm, max_waiting_requests=1)
    try:
        client = live.client()
        running = long_stream(client)
        first_content(running)  # scheduled: the only sequence slot is taken
        waiting = long_stream(client)  # accepted, and waits behind it
        with pytest.raises(openai.APIStatusError) as e:
            client.completions.create(model=MODEL_NAME, prompt="hi", max_tokens=2)
        assert e.value.status_code == 503 and e.value.body["code"] == "overloaded"
        assert "max_waiting_requests=1" in e.value.body["message"]
        running.close()
        assert [c for c in waiting if c.choices][-1].choices[0].finish_reason == "length"
        out = client.completions.create(model=MODEL_NAME, prompt="hi", max_tokens=2)
        assert out.usage.completion_tokens == 2
        live.wait_idle()
    finally:
        live.stop()


def test_shutdown_drains_open_streams(llm):
    live = start_server(llm, drain_timeout=30)
    stream = long_stream(live.client(), max_tokens=40)
    first_content(stream)
    stopper = threading.Thread(target=live.stop)
    stopper.start()  # as SIGTERM does: stop accepting, let open responses finish
    chunks = [c for c in stream if c.choices]
    stopper.join(30)
    assert chunks[-1].choices[0].finish_reason == "length"
    assert not live.thread.is_alive() and live.app.state.engine.error is not None
    with pytest.raises(openai.APIConnectionError):
        live.client().models.list()
    live.wait_idle()


def test_dead_engine_fails_requests_and_health(llm, monkeypatch):
    live = start_server(llm)
    try:
        client = live.client()
        stream = long_stream(client)
        first_content(stream)

        def broken_step():
            raise RuntimeError("device lost")

        monkeypatch.setattr(llm.engine, "step", broken_step)
        with pytest.raises(openai.APIError, match="the engine failed: RuntimeError: device lost"):
            list(stream)  # the open stream ends with an error event, not a hang
        deadline = time.monotonic() + 10
        while live.app.state.engine.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with live.http() as http:
            health = http.get("/health")
        assert health.status_code == 503 and "device lost" in health.json()["error"]["message"]
        with pytest.raises(openai.InternalServerError, match="device lost") as e:
            client.completions.create(model=MODEL_NAME, prompt="hi", max_tokens=2)
        assert e.value.status_code == 500 and e.value.body["type"] == "server_error"
    finally:
        live.stop()


FAULTY = "fault me " * 6  # several pages of prompt, so a poisoned prefix cache would show


def _complete(client, prompt: str, max_tokens: int) -> str:
    out = client.completions.create(
        model=MODEL_NAME,
        prompt=prompt,
        max_tokens=max_tokens,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    return out.choices[0].text


def test_fault_in_one_step_fails_only_its_requests(llm, monkeypatch):
    """Streams beside a failing step finish as on an idle server; the faulted calls get 500."""
    monkeypatch.setattr(llm.engine.scheduler, "max_num_seqs", 1)  # a step holds one request
    live = start_server(llm)
    try:
        client = live.client()
        idle_stream = "".join(
            c.choices[0].text
            for c in client.completions.create(
                model=MODEL_NAME,
                prompt="alpha",
                max_tokens=24,
                temperature=0,
                stream=True,
                extra_body={"ignore_eos": True},
            )
            if c.choices
        )
        idle_after = _complete(client, "gamma", 8)

        def fault(requests):
            if any(FAULTY in (r.prompt or "") for r in requests):
                raise RuntimeError("injected: device hiccup")

        monkeypatch.setattr(llm.engine, "step_hook", fault)
        stream = client.completions.create(
            model=MODEL_NAME,
            prompt="alpha",
            max_tokens=24,
            temperature=0,
            stream=True,
            extra_body={"ignore_eos": True},
        )
        chunks = iter(stream)
        streamed = next(c for c in chunks if c.choices and c.choices[0].text).choices[0].text
        results: dict[str, object] = {}

        def call(name, fn):
            try:
                results[name] = fn()
            except Exception as e:  # the test inspects what each call got
                results[name] = e

        threads = [
            threading.Thread(target=call, args=("fault", lambda: _complete(client, FAULTY, 8))),
            threading.Thread(target=call, args=("after", lambda: _complete(client, "gamma", 8))),
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.2)  # queued behind the running stream, in this order
        streamed += "".join(c.choices[0].text for c in chunks if c.choices)
        for thread in threads:
            thread.join(60)
        faulted = results["fault"]
        assert isinstance(faulted, openai.InternalServerError), faulted
        assert faulted.status_code == 500 and "device hiccup" in faulted.body["message"]
        assert streamed == idle_stream
        assert results["after"] == idle_after
        with pytest.raises(openai.APIError, match="device hiccup"):  # a stream's error event
            list(
                client.completions.create(
                    model=MODEL_NAME, prompt=FAULTY, max_tokens=8, stream=True
                )
            )
        with live.http() as http:
            assert http.get("/health").status_code == 200
            metrics = http.get("/metrics").text
        assert 'finished_reason="error"} 2' in metrics
        live.wait_idle()
        monkeypatch.setattr(llm.engine, "step_hook", None)
        retried = _complete(client, FAULTY, 8)  # the failed steps' pages left the prefix cache
        monkeypatch.setattr(llm.engine.blocks, "enable_prefix_caching", False)
        assert retried == _complete(client, FAULTY, 8)
        live.wait_idle()
    finally:
        live.stop()
