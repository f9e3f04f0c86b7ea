"""The playground's Dashboard tab: live serving metrics, the memory plan and the platform.

Every tick of the page's `gr.Timer` (server-driven, streamed over the event's SSE messages)
samples the server's `ServerMetrics` through `render()`, the very text `/metrics` answers, so
the figures shown are the ones Prometheus scrapes. Samples go to a bounded ring buffer shared by
every open page; rates (tokens/s, prefix-cache hit rate) are differences of successive samples.
Latency percentiles are estimated from the histograms' buckets over the server's lifetime, as
Prometheus' `histogram_quantile` does.

gradio_client sees `/dashboard()`, a tick event that streams, once a second, the plots, the
latency table and `counters`: the latest sample's raw values keyed by metric name.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

import jax

import webui as gr
from jaxserve.server.metrics import PREFIX, PROCESS_GAUGES

if TYPE_CHECKING:
    from jaxserve.llm import LLM

HISTORY = 120  # samples kept: two minutes at one tick a second
INTERVAL_S = 1.0
QUANTILES = (0.5, 0.9, 0.99)
LATENCIES = {
    "time_to_first_token_seconds": "Time to first token",
    "inter_token_latency_seconds": "Inter-token latency",
}


class MetricsSource(Protocol):
    def render(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class Sample:
    """One reading of the metrics text: plain values, and each histogram's cumulative buckets."""

    time: float
    values: dict[str, float]
    buckets: dict[str, list[tuple[float, float]]]  # name -> [(upper bound, cumulative count)]

    def value(self, name: str) -> float:
        return self.values.get(name, 0.0)


def parse_metrics(text: str, now: float) -> Sample:
    """The Prometheus text of `ServerMetrics.render()` as a `Sample` (labels other than `le`
    and `finished_reason` are dropped: one server serves one model)."""
    values: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, raw = line.rpartition(" ")
        name, _, label_text = series.partition("{")
        name = name.removeprefix(PREFIX)
        if name in PROCESS_GAUGES:
            continue  # the process, not the engine: the dashboard plots the engine
        labels = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        value = float(raw)
        if name.endswith("_bucket") and "le" in labels:
            bound = labels["le"].strip('"')
            buckets[name.removesuffix("_bucket")].append(
                (math.inf if bound == "+Inf" else float(bound), value)
            )
        elif "finished_reason" in labels:
            values[f"{name}:{labels['finished_reason'].strip(chr(34))}"] = value
        else:
            values[name] = value
    return Sample(now, values, dict(buckets))


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a histogram's cumulative buckets, interpolated linearly inside its
    bucket (Prometheus' `histogram_quantile`); None without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # past the last finite bound: that bound, as Prometheus
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def latency_markdown(sample: Sample) -> str:
    rows = ["| Latency | p50 | p90 | p99 | count |", "|---|---:|---:|---:|---:|"]
    for name, title in LATENCIES.items():
        buckets = sample.buckets.get(name, [])
        count = int(buckets[-1][1]) if buckets else 0
        cells = []
        for q in QUANTILES:
            value = quantile(q, buckets)
            cells.append("–" if value is None else f"{1000 * value:.1f} ms")
        rows.append(f"| {title} | {' | '.join(cells)} | {count} |")
    return "\n".join(rows)


def system_markdown(llm: LLM) -> str:
    """The memory plan (weights, KV cache pages) and `jaxserve doctor`'s platform table."""
    runner = llm.runner
    engine = llm.engine
    weight_bytes = sum(x.nbytes for x in jax.tree.leaves(runner.params))
    kv_bytes = sum(x.nbytes for x in jax.tree.leaves(runner.kv_cache))
    usable = runner.num_pages - 1  # one page is reserved
    plan = [
        "| Memory plan | |",
        "|---|---:|",
        f"| weights | {weight_bytes / 2**20:.1f} MiB |",
        f"| KV cache | {kv_bytes / 2**20:.1f} MiB |",
        f"| KV pages | {runner.num_pages} × {runner.page_size} tokens (1 reserved) |",
        f"| KV tokens | {usable * runner.page_size} |",
        f"| max_model_len | {engine.max_model_len} |",
        f"| max concurrency at max_model_len | {usable / runner.pages_per_seq:.1f} |",
    ]
    platform = ["| Platform | |", "|---|---|"]
    for line in llm.platform.describe().splitlines():
        key, _, value = line.partition(":")
        platform.append(f"| {key.strip()} | {value.strip()} |")
    return "### Memory plan\n" + "\n".join(plan) + "\n\n### Platform\n" + "\n".join(platform)


class Dashboard:
    """Samples of one server's metrics in a ring buffer, and the tab that charts them."""

    def __init__(
        self,
        metrics: MetricsSource,
        system: str,
        *,
        history: int = HISTORY,
        interval: float = INTERVAL_S,
    ):
        self.metrics = metrics
        self.system = system
        self.interval = interval
        self.samples: collections.deque[Sample] = collections.deque(maxlen=history)
        self._lock = threading.Lock()

    def sample(self, now: float | None = None) -> Sample:
        """A new sample, unless another page took one less than half an interval ago (every
        open page ticks; the buffer keeps one timeline for all)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self.samples and now - self.samples[-1].time < self.interval / 2:
                return self.samples[-1]
            sample = parse_metrics(self.metrics.render(), now)
            self.samples.append(sample)
            return sample

    def series(self) -> dict[str, dict[str, list[Any]]]:
        """Plot data over the buffer, `t` in seconds relative to the latest sample."""
        with self._lock:
            samples = list(self.samples)
        last = samples[-1].time if samples else 0.0
        requests: dict[str, list[Any]] = {"t": [], "requests": [], "state": []}
        kv: dict[str, list[Any]] = {"t": [], "usage %": []}
        hits: dict[str, list[Any]] = {"t": [], "hit rate %": []}
        tokens: dict[str, list[Any]] = {"t": [], "tokens/s": [], "kind": []}
        for s in samples:
            t = round(s.time - last, 2)
            for state in ("running", "waiting"):
                requests["t"].append(t)
                requests["requests"].append(s.value(f"num_requests_{state}"))
                requests["state"].append(state)
            kv["t"].append(t)
            kv["usage %"].append(100 * s.value("kv_cache_usage_perc"))
        for a, b in itertools.pairwise(samples):
            t, dt = round(b.time - last, 2), max(b.time - a.time, 1e-9)
            queries = b.value("prefix_cache_queries_total") - a.value("prefix_cache_queries_total")
            found = b.value("prefix_cache_hits_total") - a.value("prefix_cache_hits_total")
            hits["t"].append(t)
            hits["hit rate %"].append(100 * found / queries if queries > 0 else 0.0)
            for kind in ("prompt", "generation"):
                name = f"{kind}_tokens_total"
                tokens["t"].append(t)
                tokens["tokens/s"].append(round((b.value(name) - a.value(name)) / dt, 3))
                tokens["kind"].append(kind)
        return {"requests": requests, "kv": kv, "hits": hits, "tokens": tokens}

    def tick(self) -> tuple[Any, ...]:
        sample = self.sample()
        series = self.series()
        counters = dict(sample.values)
        return (
            series["requests"],
            series["kv"],
            series["hits"],
            series["tokens"],
            latency_markdown(sample),
            counters,
        )

    def render(self) -> None:
        """The tab's components and its tick event; call inside a `gr.Tab` of a Blocks."""
        timer = gr.Timer(self.interval)
        with gr.Row():
            requests = gr.LinePlot(
                x="t", y="requests", color="state", title="Requests", x_title="seconds"
            )
            kv = gr.LinePlot(
                x="t", y="usage %", title="KV cache usage", y_lim=[0, 100], x_title="seconds"
            )
        with gr.Row():
            hits = gr.LinePlot(
                x="t",
                y="hit rate %",
                title="Prefix cache hit rate",
                y_lim=[0, 100],
                x_title="seconds",
            )
            tokens = gr.LinePlot(
                x="t", y="tokens/s", color="kind", title="Tokens/s", x_title="seconds"
            )
        latencies = gr.Markdown(latency_markdown(parse_metrics(self.metrics.render(), 0.0)))
        with gr.Accordion("Counters", open=False):
            counters = gr.JSON(label="Counters (as /metrics)")
        gr.Markdown(self.system, elem_id="dashboard-system")
        timer.tick(
            self.tick,
            None,
            [requests, kv, hits, tokens, latencies, counters],
            api_name="dashboard",
            concurrency_limit=None,
            show_progress="hidden",
        )
