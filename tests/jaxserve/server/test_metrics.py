"""The Prometheus text exposition, without a server."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from jaxserve.server.metrics import EngineGauges, ServerMetrics


def test_counters_gauges_and_histograms_render():
    metrics = ServerMetrics('m"1')
    metrics.publish(EngineGauges(num_running=2, num_waiting=1, kv_cache_usage=0.25))
    metrics.on_scheduled(0.4, 10)
    metrics.on_tokens(1, ttft=0.05, itl=None)
    metrics.on_tokens(1, ttft=None, itl=0.02)
    metrics.on_finished("length", 1.2)
    text = metrics.render()
    lines = text.splitlines()
    label = 'model_name="m\\"1"'
    assert f"jaxserve:num_requests_running{{{label}}} 2" in lines
    assert f"jaxserve:kv_cache_usage_perc{{{label}}} 0.25" in lines
    assert f"jaxserve:prompt_tokens_total{{{label}}} 10" in lines
    assert f"jaxserve:generation_tokens_total{{{label}}} 2" in lines
    assert f'jaxserve:request_success_total{{{label},finished_reason="length"}} 1' in lines
    assert f'jaxserve:request_success_total{{{label},finished_reason="abort"}} 0' in lines
    assert "# TYPE jaxserve:prompt_tokens_total counter" in lines
    assert f'jaxserve:time_to_first_token_seconds_bucket{{{label},le="0.04"}} 0' in lines
    assert f'jaxserve:time_to_first_token_seconds_bucket{{{label},le="0.06"}} 1' in lines
    assert f'jaxserve:inter_token_latency_seconds_bucket{{{label},le="+Inf"}} 1' in lines
    assert f"jaxserve:e2e_request_latency_seconds_sum{{{label}}} 1.2" in lines
    assert f"jaxserve:request_queue_time_seconds_count{{{label}}} 1" in lines
    assert text.endswith("\n")


def test_process_gauges():
    lines = ServerMetrics("m").render().splitlines()
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in lines if line[0] != "#"}
    assert values["process_open_fds"] == pytest.approx(len(os.listdir("/proc/self/fd")), abs=2)
    assert values["process_resident_memory_bytes"] > 10 * 2**20
    assert values["jaxserve:server_threads"] == threading.active_count()
    assert "jaxserve:server_asyncio_tasks" not in values  # no event loop here

    async def in_loop() -> str:
        await asyncio.sleep(0)
        return ServerMetrics("m").render()

    assert "jaxserve:server_asyncio_tasks 1" in asyncio.run(in_loop()).splitlines()
