"""Acceptance: 10,000 events from 100 sessions over the raw HTTP protocol leave nothing per event
behind, and what stays per session (State, updated components) expires with the session."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import webui as gr

SESSIONS = 100
ROUNDS = 4
EVENTS_PER_ROUND = 25  # joined back to back, then read from one stream, as a busy page does


class Connection:
    """HTTP/1.1 over one keep-alive socket: the least client cost per request, so that the
    server's work is what the test measures (httpx's pool costs more than the server here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) != b"\r\n":
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, json.loads(await self.reader.readexactly(length))

    async def messages(self, path: str) -> AsyncIterator[dict[str, Any]]:
        """The `data:` messages of an SSE response, until the server ends it."""
        self.writer.write(f"GET {path} HTTP/1.1\r\nhost: {self.host}\r\n\r\n".encode())
        while await self.reader.readline() != b"\r\n":
            pass
        while line := await self.reader.readline():
            if line.startswith(b"data:"):  # other lines are chunk sizes and blank separators
                message = json.loads(line[5:])
                yield message
                if message["msg"] == "close_stream":
                    return

    def close(self) -> None:
        self.writer.close()


def build_app() -> gr.Blocks:
    def echo(text: str) -> str:
        return text

    async def shout(text: str) -> str:
        return text.upper()

    def spell(text: str) -> Iterator[str]:
        for i in range(1, len(text) + 1):
            yield text[:i]

    def count(total: int, progress: gr.Progress = gr.Progress()) -> tuple[int, str]:  # noqa: B008
        progress(0.5, desc="counting")
        return total + 1, str(total + 1)

    def relabel(text: str) -> Any:
        gr.Info("relabelled")
        return gr.Textbox(label=text)

    def fail(text: str) -> str:
        raise gr.Error(f"no {text}")

    with gr.Blocks() as demo:
        box = gr.Textbox()
        total = gr.State(0)
        gr.Button().click(echo, box, box, api_name="echo")
        gr.Button().click(shout, box, box, api_name="shout")
        gr.Button().click(spell, box, box, api_name="spell")
        gr.Button().click(count, total, [total, box], api_name="count")
        gr.Button().click(relabel, box, box, api_name="relabel")
        gr.Button().click(fail, box, box, api_name="fail")
    demo.queue(default_concurrency_limit=None)
    return demo


# (api_name, input, expected final output) cycled through every round; "count" is checked apart.
PLAN = [
    ("echo", "a", ["a"]),
    ("shout", "b", ["B"]),
    ("spell", "abc", ["abc"]),
    ("count", None, None),  # State input: the client sends null
    ("relabel", "L", [{"__type__": "update", "label": "L"}]),
    ("fail", "x", None),
    ("echo", "c", ["c"]),
    ("spell", "de", ["de"]),
    ("shout", "f", ["F"]),
    ("echo", "g", ["g"]),
]


async def run_session(url: str, session: str, index: dict[str, int]) -> tuple[int, int]:
    """Every event of one session; returns (right answers, failures seen)."""
    right = failed = 0
    joins = await Connection.open(url)
    for _ in range(ROUNDS):
        expected: dict[str, tuple[str, Any]] = {}
        for i in range(EVENTS_PER_ROUND):
            name, text, output = PLAN[i % len(PLAN)]
            body = {"data": [text], "fn_index": index[name], "session_hash": session}
            status, joined = await joins.post_json("/gradio_api/queue/join", body)
            assert status == 200, joined
            expected[joined["event_id"]] = (name, output)
        # Read to close_stream as gradio_client and the browser do: a reader that leaves early
        # is only noticed by the server at its next write.
        stream = await Connection.open(url)
        async for message in stream.messages(f"/gradio_api/queue/data?session_hash={session}"):
            if message["msg"] != "process_completed":
                continue
            name, output = expected.pop(message["event_id"])
            if name == "fail":
                failed += message["success"] is False
            elif name == "count":
                right += message["output"]["data"][1].isdigit()
            else:
                right += message["output"]["data"] == output
        stream.close()
        assert not expected, f"{len(expected)} events never completed"
    joins.close()
    return right, failed


def test_ten_thousand_events_leave_no_bookkeeping(serve: Callable[[gr.Blocks], str]) -> None:
    demo = build_app()
    url = serve(demo).rstrip("/")
    index = {d.api_name: d.id for d in demo.dependencies}

    async def main() -> list[tuple[int, int]]:
        sessions = (run_session(url, f"s{k}", index) for k in range(SESSIONS))
        return await asyncio.wait_for(asyncio.gather(*sessions), 120)

    started = time.perf_counter()
    outcomes = asyncio.run(main())
    elapsed = time.perf_counter() - started
    plan = [PLAN[i % len(PLAN)][0] for i in range(EVENTS_PER_ROUND)]
    failures, counts = ROUNDS * plan.count("fail"), ROUNDS * plan.count("count")
    assert outcomes == [(ROUNDS * EVENTS_PER_ROUND - failures, failures)] * SESSIONS
    queue = demo.app.state.webui.queue
    assert wait_until_idle(queue), queue.bookkeeping()
    assert queue.bookkeeping() == {"events": 0, "channels": 0, "call_sinks": 0}
    # Per-dependency and per-concurrency-group tables are bounded by the app, not the traffic.
    assert len(queue._durations) <= len(demo.dependencies)
    assert len(queue._semaphores) <= len(demo.dependencies)
    # What a session keeps: its State and the Textbox its relabel event changed; right values.
    assert len(queue.states) == SESSIONS
    state = queue.states["s7"]
    assert list(state.values.values()) == [counts]
    assert [c.label for c in state.components.values()] == ["L"]
    # ... and it goes when the session has been idle for the time-to-live.
    assert queue.expire_sessions(queue.clock() + queue.session_ttl_s - 60) == 0
    assert queue.expire_sessions(queue.clock() + queue.session_ttl_s + 1) == SESSIONS
    assert len(queue.states) == 0
    assert elapsed < 120  # a guard against a stall; the usual time is printed with -s
    print(f"{SESSIONS * ROUNDS * EVENTS_PER_ROUND} events in {elapsed:.1f} s")


def wait_until_idle(queue: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while any(queue.bookkeeping().values()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_idle_sessions_expire_on_the_next_use() -> None:
    now = [0.0]
    with gr.Blocks() as demo:
        gr.State(0)
    queue = demo.app.state.webui.queue
    queue.clock = lambda: now[0]
    queue.session_state("old")
    now[0] = queue.session_ttl_s / 2
    queue.session_state("recent")
    now[0] = queue.session_ttl_s + 1
    queue.session_state("new")  # any use sweeps sessions idle past the time-to-live
    assert list(queue.states) == ["recent", "new"]
