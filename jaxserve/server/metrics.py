"""Prometheus metrics named like vLLM's (`jaxserve:` prefix), in the text exposition format.

The engine thread records events (a request scheduled, tokens produced, a request ended) and
publishes the engine's own gauges and counters after every loop turn; `/metrics` renders a
consistent copy under one lock. Written by hand: the format is a few lines of text, not worth
a dependency.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import math
import os
import resource
import threading
from collections import Counter

# Bucket bounds in seconds, as vLLM's.
TTFT_BUCKETS: tuple[float, ...] = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
)
TTFT_BUCKETS += (7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
ITL_BUCKETS: tuple[float, ...] = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
)
ITL_BUCKETS += (7.5, 10.0, 20.0, 40.0, 80.0)
REQUEST_BUCKETS: tuple[float, ...] = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
)
REQUEST_BUCKETS += (60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
FINISH_REASONS = ("stop", "length", "abort", "error")
PREFIX = "jaxserve:"
# The process's own gauges (`process_lines`), by name without PREFIX: not the engine's figures.
PROCESS_GAUGES = frozenset(
    {"process_resident_memory_bytes", "process_open_fds", "server_threads", "server_asyncio_tasks"}
)


@dataclasses.dataclass(frozen=True)
class EngineGauges:
    """The engine's own state, copied by its thread after each loop turn."""

    num_running: int = 0
    num_waiting: int = 0
    kv_cache_usage: float = 0.0
    prefix_cache_queries: int = 0
    prefix_cache_hits: int = 0
    num_preemptions: int = 0
    # Vision-language models only (None: the model takes no images).
    encoder_cache: EncoderCacheCounts | None = None


@dataclasses.dataclass(frozen=True)
class EncoderCacheCounts:
    queries: int  # images a request needed (once per request and image)
    hits: int  # of those, found in the encoder cache
    encoded_images: int
    encoded_tokens: int
    usage_tokens: int  # embedding rows held now


class Histogram:
    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def lines(self, name: str, labels: str) -> list[str]:
        out, cumulative = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == math.inf else repr(bound)
            out.append(f'{name}_bucket{{{labels},le="{le}"}} {cumulative}')
        out.append(f"{name}_sum{{{labels}}} {self.total!r}")
        out.append(f"{name}_count{{{labels}}} {cumulative}")
        return out


class ServerMetrics:
    """Every metric of one served model; the engine thread writes, `/metrics` reads."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        self._lock = threading.Lock()
        self._gauges = EngineGauges()
        self._prompt_tokens = 0
        self._generation_tokens = 0
        self._finished: Counter[str] = Counter()
        self._histograms = {
            "time_to_first_token_seconds": Histogram(TTFT_BUCKETS),
            "inter_token_latency_seconds": Histogram(ITL_BUCKETS),
            "e2e_request_latency_seconds": Histogram(REQUEST_BUCKETS),
            "request_queue_time_seconds": Histogram(REQUEST_BUCKETS),
        }

    @property
    def gauges(self) -> EngineGauges:
        with self._lock:
            return self._gauges

    def publish(self, gauges: EngineGauges) -> None:
        with self._lock:
            self._gauges = gauges

    def on_scheduled(self, queue_time: float, num_prompt_tokens: int) -> None:
        with self._lock:
            self._histograms["request_queue_time_seconds"].observe(queue_time)
            self._prompt_tokens += num_prompt_tokens

    def on_tokens(self, num_tokens: int, *, ttft: float | None, itl: float | None) -> None:
        with self._lock:
            self._generation_tokens += num_tokens
            if ttft is not None:
                self._histograms["time_to_first_token_seconds"].observe(ttft)
            if itl is not None:
                self._histograms["inter_token_latency_seconds"].observe(itl)

    def on_finished(self, finish_reason: str, e2e_latency: float) -> None:
        with self._lock:
            self._finished[finish_reason] += 1
            self._histograms["e2e_request_latency_seconds"].observe(e2e_latency)

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        labels = f'model_name="{_escape(self.model_name)}"'
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[str]) -> None:
            out.extend([f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} {kind}"])
            out.extend(samples)

        def single(name: str, kind: str, help_text: str, value: float) -> None:
            metric(name, kind, help_text, [f"{PREFIX}{name}{{{labels}}} {value!r}"])

        with self._lock:
            g = self._gauges
            single("num_requests_running", "gauge", "Requests in the running batch.", g.num_running)
            single("num_requests_waiting", "gauge", "Requests waiting to run.", g.num_waiting)
            single("kv_cache_usage_perc", "gauge", "KV cache usage: 1 = full.", g.kv_cache_usage)
            single(
                "prefix_cache_queries_total",
                "counter",
                "Prompt tokens looked up in the prefix cache.",
                g.prefix_cache_queries,
            )
            single(
                "prefix_cache_hits_total",
                "counter",
                "Prompt tokens found in the prefix cache.",
                g.prefix_cache_hits,
            )
            single(
                "num_preemptions_total", "counter", "Preemptions (recompute).", g.num_preemptions
            )
            if g.encoder_cache is not None:
                for name, kind, help_text, value in _encoder_cache_samples(g.encoder_cache):
                    single(name, kind, help_text, value)
            single(
                "prompt_tokens_total", "counter", "Prompt tokens prefilled.", self._prompt_tokens
            )
            single(
                "generation_tokens_total",
                "counter",
                "Tokens generated.",
                self._generation_tokens,
            )
            metric(
                "request_success_total",
                "counter",
                "Requests ended, by finish reason.",
                [
                    f'{PREFIX}request_success_total{{{labels},finished_reason="{reason}"}} '
                    f"{self._finished[reason]}"
                    for reason in FINISH_REASONS
                ],
            )
            for name, histogram in self._histograms.items():
                help_text = name.replace("_", " ").capitalize() + "."
                metric(name, "histogram", help_text, histogram.lines(PREFIX + name, labels))
        out.extend(process_lines())
        return "\n".join(out) + "\n"


def _encoder_cache_samples(counts: EncoderCacheCounts) -> list[tuple[str, str, str, int]]:
    return [
        ("encoder_cache_queries_total", "counter",
         "Images requests needed (once per request and image).", counts.queries),
        ("encoder_cache_hits_total", "counter",
         "Of those, images whose embeddings were in the encoder cache.", counts.hits),
        ("encoder_images_total", "counter", "Images run through the vision encoder.",
         counts.encoded_images),
        ("encoder_tokens_total", "counter", "Embedding rows the vision encoder made.",
         counts.encoded_tokens),
        ("encoder_cache_usage_tokens", "gauge", "Embedding rows in the encoder cache.",
         counts.usage_tokens),
    ]  # fmt: skip


def process_lines() -> list[str]:
    """The server process: Prometheus' standard memory and descriptor gauges (where /proc
    exists), its threads, and the tasks of the event loop that renders this."""
    lines = []
    try:
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * resource.getpagesize()
        lines += [
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {rss}",
            "# HELP process_open_fds Number of open file descriptors.",
            "# TYPE process_open_fds gauge",
            f"process_open_fds {len(os.listdir('/proc/self/fd'))}",
        ]
    except OSError:  # no /proc: not Linux
        pass
    lines += [
        f"# HELP {PREFIX}server_threads Threads of the server process.",
        f"# TYPE {PREFIX}server_threads gauge",
        f"{PREFIX}server_threads {threading.active_count()}",
    ]
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:  # rendered outside an event loop
        return lines
    return [
        *lines,
        f"# HELP {PREFIX}server_asyncio_tasks Tasks of the server's event loop (this one incl.).",
        f"# TYPE {PREFIX}server_asyncio_tasks gauge",
        f"{PREFIX}server_asyncio_tasks {tasks}",
    ]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
