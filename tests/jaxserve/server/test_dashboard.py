"""The playground's Dashboard tab: its tick event agrees with `/metrics`."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client

from jaxserve.server.metrics import ServerMetrics
from jaxserve.ui.dashboard import Dashboard, parse_metrics, quantile
from tests.jaxserve.server.conftest import MODEL_NAME, start_server

pytestmark = pytest.mark.cpu

GREEDY = (0.0, 1.0, 0, 8, None, "", True)


@pytest.fixture(scope="module")
def pages(server_llm):
    server = start_server(server_llm, webui=True, api_key=None)
    client = Client(server.url, verbose=False)
    yield server, client
    client.close()
    server.stop()


def scraped(server) -> dict[str, float]:
    """`/metrics` as {name: value} for the unlabelled-beyond-model series."""
    with server.http() as http:
        text = http.get("/metrics").text
    out = {}
    prefix = "jaxserve:"
    suffix = f'{{model_name="{MODEL_NAME}"}}'
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith(prefix) and series.endswith(suffix):
            out[series.removeprefix(prefix).removesuffix(suffix)] = float(value)
    return out


def next_tick(job, seen: int, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while len(job.outputs()) <= seen:
        assert time.monotonic() < deadline, "no dashboard tick"
        time.sleep(0.05)
    return job.outputs()[-1]


def test_tick_counters_move_and_match_metrics(pages):
    server, client = pages
    job = client.submit(api_name="/dashboard")
    try:
        first = next_tick(job, 0)
        before = first[5]
        for prompt in ("hello there", "the quick brown"):
            assert client.predict(prompt, *GREEDY, api_name="/complete")[0]
        server.wait_idle()
        expected = scraped(server)
        seen = len(job.outputs())
        while True:  # a tick sampled after the completions finished
            latest = next_tick(job, seen)
            seen = len(job.outputs())
            if latest[5]["generation_tokens_total"] == expected["generation_tokens_total"]:
                break
        counters = latest[5]
        assert counters["generation_tokens_total"] >= before["generation_tokens_total"] + 16
        assert counters["prompt_tokens_total"] > before["prompt_tokens_total"]
        for name in (
            "prompt_tokens_total",
            "generation_tokens_total",
            "prefix_cache_queries_total",
            "prefix_cache_hits_total",
            "num_requests_running",
            "kv_cache_usage_perc",
        ):
            assert counters[name] == expected[name], name
        requests, kv, hits, tokens, latencies, _ = latest
        assert requests["columns"] == ["t", "requests", "state"] and requests["data"]
        assert tokens["columns"] == ["t", "tokens/s", "kind"] and tokens["data"]
        assert kv["data"] and hits["columns"] == ["t", "hit rate %"]
        assert "Time to first token" in latencies and "p99" in latencies
        assert " ms |" in latencies
    finally:
        job.cancel()


def test_memory_plan_and_platform_on_the_page(pages):
    server, _ = pages
    with server.http() as http:
        config = http.get("/config").json()
    texts = [c["props"].get("value") for c in config["components"]]
    texts = [t for t in texts if isinstance(t, str)]
    (system,) = [t for t in texts if "Memory plan" in t]
    assert "KV pages" in system and "weights" in system
    assert "platform" in system and "page size" in system
    assert f"{server.llm.runner.num_pages} ×" in system
    assert any(c["props"].get("label") == "Dashboard" for c in config["components"])


def test_history_is_bounded_and_rates_follow_samples():
    metrics = ServerMetrics("m")
    dashboard = Dashboard(metrics, "", history=5, interval=1.0)
    for step in range(12):
        metrics.on_scheduled(0.0, 10)
        metrics.on_tokens(4, ttft=0.05, itl=None)
        dashboard.sample(now=float(step))
    dashboard.sample(now=11.2)  # within half an interval: the same sample
    assert len(dashboard.samples) == 5
    tokens = dashboard.series()["tokens"]
    assert tokens["t"][-1] == 0.0
    rates = dict(zip(tokens["kind"], tokens["tokens/s"], strict=True))
    assert rates == {"prompt": 10.0, "generation": 4.0}
    sample = parse_metrics(metrics.render(), 0.0)
    assert sample.value("generation_tokens_total") == 48
    p50 = quantile(0.5, sample.buckets["time_to_first_token_seconds"])
    assert 0.04 < p50 <= 0.06
    assert quantile(0.5, sample.buckets["inter_token_latency_seconds"]) is None
