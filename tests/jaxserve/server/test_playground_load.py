"""16 chat sessions at once through the playground's protocol, and the Dashboard under that load.

Each session is its own gradio_client `Client` (its own session hash and message stream), as 16
browser tabs would be, against `jaxserve run configs/default.yaml` (16 sequences a step). The
Dashboard's `/dashboard()` stream watches meanwhile; its figures must agree with `/metrics`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.client import Job

from tests.conftest import DefaultServer

pytestmark = [pytest.mark.cpu, pytest.mark.slow]

SESSIONS = 16
MAX_TOKENS = 32


@dataclasses.dataclass
class Session:
    client: Client
    job: Job
    first_token: float = math.inf  # monotonic time the reply's first text arrived
    done: float = math.inf


def reply_text(conversation: list[dict]) -> str:
    last = conversation[-1]
    if last["role"] != "assistant":
        return ""
    return "".join(part["text"] for part in last["content"] if part["type"] == "text")


def table_count(markdown: str, row: str) -> int:
    """The count column of the latency table's `row`."""
    (line,) = [x for x in markdown.splitlines() if x.startswith(f"| {row} |")]
    return int(line.strip("| ").rsplit("|", 1)[1])


def newest(plot: dict, kind: str | None = None) -> float:
    """The newest value of a plot's series `kind` (None: the plot has one series)."""
    return [row[1] for row in plot["data"] if kind is None or row[2] == kind][-1]


def newest_interval(requests: dict) -> float:
    """Seconds between the two newest samples (the requests plot has a point per sample; its
    t is relative to the newest)."""
    times = sorted({row[0] for row in requests["data"]})
    return times[-1] - times[-2]


def idle_metrics(server: DefaultServer) -> dict[str, float]:
    """`/metrics` once the engine holds no request."""
    deadline = time.monotonic() + 30
    while True:
        metrics = server.metrics()
        if metrics["num_requests_running"] == metrics["num_requests_waiting"] == 0:
            return metrics
        assert time.monotonic() < deadline, f"the engine did not go idle: {metrics}"
        time.sleep(0.05)


def settle(watcher: Job, counters: dict[str, float], start: int = 0) -> int:
    """The index of the first tick from `start` on to show exactly `counters` (an idle
    server's figures, which every later tick shows too)."""
    deadline = time.monotonic() + 30
    while True:
        ticks = watcher.outputs()
        for i in range(start, len(ticks)):
            if ticks[i][5] == counters:
                return i
        assert time.monotonic() < deadline, (ticks[-1][5] if ticks else None, counters)
        time.sleep(0.05)


@pytest.fixture
def watcher(default_server: DefaultServer) -> Iterator[Job]:
    """The Dashboard's tick stream, as a page watching it gets it."""
    client = Client(default_server.url, verbose=False)
    job = client.submit(api_name="/dashboard")
    yield job
    job.cancel()
    client.close()


def run_sessions(url: str) -> list[Session]:
    """Starts every session's chat at once; returns them finished, with their timings."""
    with ThreadPoolExecutor(SESSIONS) as pool:  # each fetches the config: in parallel
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(SESSIONS)))
    sessions = [
        Session(
            client,
            client.submit(
                f"Session {i}: tell me about the sea.",
                [],
                "",
                *(0.8, 1.0, 0, MAX_TOKENS, i, "", True),  # temperature ... seed, stop, ignore_eos
                api_name="/chat",
            ),
        )
        for i, client in enumerate(clients)
    ]
    deadline = time.monotonic() + 300
    while any(s.done == math.inf for s in sessions):
        assert time.monotonic() < deadline, "the sessions did not finish"
        now = time.monotonic()
        for s in sessions:
            if s.first_token == math.inf and any(reply_text(c) for _, c in s.job.outputs()):
                s.first_token = now
            if s.done == math.inf and s.job.done():
                s.done = now
        time.sleep(0.02)
    return sessions


def test_sixteen_sessions_stream_at_once_and_the_dashboard_agrees(
    default_server: DefaultServer, watcher: Job
):
    before = idle_metrics(default_server)
    baseline = settle(watcher, before)
    sessions = run_sessions(default_server.url)
    prompt_tokens = 0
    try:
        for s in sessions:
            steps = [conversation for _, conversation in s.job.outputs()]
            replies = [reply_text(c) for c in steps if reply_text(c)]
            assert len(replies) >= 3, replies  # streamed: more than one update before the end
            assert all(b.startswith(a) for a, b in itertools.pairwise(replies))
            footer = s.job.result()[1][-1]["metadata"]["footer"]
            assert f"{MAX_TOKENS} reply tokens" in footer and "finished: length" in footer
            assert replies[-1].removesuffix(footer).strip()
            counted = re.match(r"\*(\d+) prompt tokens", footer)
            assert counted, footer
            prompt_tokens += int(counted.group(1))
    finally:
        with ThreadPoolExecutor(SESSIONS) as pool:  # each waits up to 1 s for its heartbeat
            list(pool.map(lambda s: s.client.close(), sessions))
    # All were streaming at one moment: every reply began before the first one ended.
    assert max(s.first_token for s in sessions) < min(s.done for s in sessions)

    after = idle_metrics(default_server)
    moved = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    ended = {k: v for k, v in moved.items() if k.startswith("request_success_total:")}
    assert ended == {"request_success_total:length": SESSIONS}
    assert moved["generation_tokens_total"] == SESSIONS * MAX_TOKENS
    assert moved["prompt_tokens_total"] == prompt_tokens
    assert moved["time_to_first_token_seconds_count"] == SESSIONS
    assert moved["e2e_request_latency_seconds_count"] == SESSIONS

    # The dashboard settles on the idle server's figures, exactly as /metrics has them.
    ticks = watcher.outputs()[baseline : settle(watcher, after, baseline) + 1]
    requests, kv, _, _, latencies, _ = ticks[-1]
    for row, name in (
        ("Time to first token", "time_to_first_token_seconds_count"),
        ("Inter-token latency", "inter_token_latency_seconds_count"),
    ):
        assert table_count(latencies, row) == after[name]
    assert newest(requests, "running") == after["num_requests_running"] == 0
    assert newest(kv) == 100 * after["kv_cache_usage_perc"] == 0

    # Its plots followed the load: a token rate whose integral over the ticks is what /metrics
    # counted (rates are rounded, and so are the ticks' times). How many requests a tick saw
    # running depends on when it fell; at most all of them.
    running = [newest(tick[0], "running") for tick in ticks]
    assert all(0 <= n <= SESSIONS for n in running), running
    generated = 0.0
    for previous, tick in itertools.pairwise(ticks):
        if tick != previous:  # a repeated tick is the same sample, sent again
            generated += newest(tick[3], "generation") * newest_interval(tick[0])
    assert generated == pytest.approx(moved["generation_tokens_total"], rel=0.03)
