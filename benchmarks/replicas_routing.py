#!/usr/bin/env python3
"""Prefix-cache hit rate of 2 replicas on Ray behind the front: prefix-aware routing against
round-robin, on 8 shared prefixes x 16 requests each.

usage: replicas_routing.py [--prefixes 8] [--per-prefix 16] [--concurrency 1]

Each replica's KV cache holds about half the prefixes (16 pages of 16 tokens; a prefix is 3
pages), so where a prefix's requests land decides whether its pages are still cached. Requests
come in rounds that send every prefix once, each round in a seeded random order (a fixed cycle
p0..p7 would hand round-robin a perfect affinity with 2 replicas by accident). Hit rate is
prefix-cache hits over lookups, in prompt tokens, summed over the replicas' `/metrics`. Each
policy gets its own prefixes, so neither finds the other's pages. The test of the replicas
(tests/jaxserve/replicas/test_replicas_ray.py) runs this workload and asserts the ratio. One
request at a time by default, which makes both figures independent of timing; with more in
flight, round-robin's varies from run to run (which pages a replica's LRU drops first).
Prints the CPU model and a RESULT line.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import platform
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PREFIX_TOKENS = 48  # 3 whole pages: what a later request with the same prefix can hit
SUFFIX_TOKENS = 4
MAX_TOKENS = 4
MODEL_NAME = "tiny"
# What the tests and this benchmark serve (README, "Replicas on Ray"), model aside.
REPLICA_CONFIG = dict(
    served_model_name=MODEL_NAME,
    replicas=2,
    routing="prefix",
    dtype="float32",
    max_model_len=64,
    max_num_seqs=4,
    max_num_batched_tokens=64,
    page_size=16,
    kv_cache_memory="128KiB",  # 16 pages of the tiny model: about 4 of the 8 prefixes
    webui=False,
    log_level="warning",
    port=0,
)


def routing_workload(
    num_prefixes: int = 8, per_prefix: int = 16, *, seed: int = 0, vocab: int = 320
) -> list[list[int]]:
    """Token-id prompts: `per_prefix` rounds, each every prefix once in a random order."""
    rng = random.Random(seed)

    def tokens(n: int) -> list[int]:
        return [rng.randrange(3, vocab) for _ in range(n)]  # 0-2 are special

    prefixes = [tokens(PREFIX_TOKENS) for _ in range(num_prefixes)]
    prompts = []
    for _ in range(per_prefix):
        order = list(range(num_prefixes))
        rng.shuffle(order)
        prompts += [prefixes[p] + tokens(SUFFIX_TOKENS) for p in order]
    return prompts


def prefix_cache_counts(url: str) -> tuple[float, float]:
    """(hits, queries) in prompt tokens, summed over the replicas behind the front at `url`."""
    text = httpx.get(f"{url}/metrics", timeout=30).raise_for_status().text
    totals = {"hits": 0.0, "queries": 0.0}
    for line in text.splitlines():
        match = re.match(r"jaxserve:prefix_cache_(hits|queries)_total\{.*\} (\S+)$", line)
        if match:
            totals[match.group(1)] += float(match.group(2))
    return totals["hits"], totals["queries"]


def run_workload(url: str, prompts: list[list[int]], *, concurrency: int = 1) -> float:
    """Sends `prompts` (greedy, `MAX_TOKENS` each) in order, `concurrency` at a time; returns
    the prefix-cache hit rate they met."""
    hits0, queries0 = prefix_cache_counts(url)
    with httpx.Client(base_url=url, timeout=120) as client:

        def send(prompt: list[int]) -> None:
            body = {"model": MODEL_NAME, "prompt": prompt, "max_tokens": MAX_TOKENS}
            client.post("/v1/completions", json={**body, "temperature": 0}).raise_for_status()

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, prompts))
    hits, queries = prefix_cache_counts(url)
    return (hits - hits0) / max(queries - queries0, 1.0)


@dataclasses.dataclass
class FrontThread:
    """The front's app on uvicorn in a thread of this process, on a free loopback port."""

    url: str
    app: object
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def start_front(pool, config) -> FrontThread:
    """Serves `create_front_app(pool, config)` until `stop()`."""
    from jaxserve.replicas.app import create_front_app
    from jaxserve.server.app import uvicorn_server

    app = create_front_app(pool, config)
    server = uvicorn_server(app, config)
    thread = threading.Thread(target=server.run, name="front", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the front did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return FrontThread(f"http://127.0.0.1:{port}", app, server, thread)


@contextlib.contextmanager
def front(pool, config) -> Iterator[FrontThread]:
    running = start_front(pool, config)
    try:
        yield running
    finally:
        running.stop()


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefixes", type=int, default=8)
    parser.add_argument("--per-prefix", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import ray

    from jaxserve.replicas.actors import ReplicaSet
    from jaxserve.server.config import ServerConfig
    from tests.tiny_models import TinySpec, write_tiny_checkpoint

    print(f"CPU: {cpu_model()}")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_tiny_checkpoint(Path(tmp), TinySpec("server", "LlamaForCausalLM", seed=5))
        config = ServerConfig(model=tmp, **REPLICA_CONFIG)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            pool = ReplicaSet(config, llm_options={"warmup": False})
            try:
                for seed, routing in enumerate(("prefix", "round_robin"), start=1):
                    prompts = routing_workload(args.prefixes, args.per_prefix, seed=seed)
                    policy_config = dataclasses.replace(config, routing=routing)
                    with front(pool, policy_config) as running:
                        rates[routing] = run_workload(
                            running.url, prompts, concurrency=args.concurrency
                        )
                    print(f"{routing}: prefix-cache hit rate {rates[routing]:.3f}")
            finally:
                pool.shutdown()
        finally:
            ray.shutdown()
    ratio = rates["prefix"] / max(rates["round_robin"], 1e-9)
    print(
        f"RESULT prefixes={args.prefixes} per_prefix={args.per_prefix} "
        f"concurrency={args.concurrency} prefix={rates['prefix']:.3f} "
        f"round_robin={rates['round_robin']:.3f} ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
