#!/usr/bin/env python3
"""Decode TPOT under long prompts mixed with short chats: disaggregated against one engine.

usage: disagg_tpot.py [--model /work/benchmodel] [--long 4] [--long-tokens 1536]
                      [--chats 16] [--chat-tokens 96] [--chat-out 64] [--rounds 1]

One workload, two deployments on a local Ray cluster, each behind `jaxserve.disagg`'s Router:
- one engine: a single worker of role "both", which computes the long prompts in chunks of
  `max_num_batched_tokens` inside the same steps that decode the chats;
- disaggregated: a prefill worker and a decode worker, each its own process; the long
  prompts' pages reach the decode worker through Ray's object store.
Chats arrive every 0.25 s and long prompts every 1 s, from the start. Each request streams;
its TPOT is (last token time - first token time) / (tokens - 1), taken at the client; ITL is
every gap between two tokens of a request; TTFT is from sending to the first token. The
workload runs once to compile (persistent compilation cache), then `--rounds` times
measured, the deployments alternating.

On a host with few cores the two disaggregated processes share them: a prefill step and a
decode step then run at once on the same cores, so this measures the scheduling effect
(no decode step waits behind a prompt chunk) and not the effect of separate hardware.
Prints the CPU model and flags, and RESULT lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import platform
import re
import statistics
import threading
import time
import warnings

import numpy as np

from jaxserve.sampling_params import SamplingParams

ENGINE_OPTIONS = dict(
    max_model_len=2048,
    max_num_seqs=32,
    max_num_batched_tokens=512,
    num_pages=1024,
    enable_prefix_caching=True,
    skip_tokenizer_init=True,
    warmup=False,
)


def cpu_description() -> str:
    text = ""
    if platform.system() == "Linux":
        with open("/proc/cpuinfo") as f:
            text = f.read()
    model = re.search(r"model name\s*:\s*(.+)", text)
    flags = re.search(r"flags\s*:\s*(.+)", text)
    wanted = [f for f in (flags.group(1).split() if flags else []) if f.startswith(("avx", "amx"))]
    name = model.group(1) if model else platform.processor()
    return f"{name}; {len(re.findall('^processor', text, re.M))} cores; {' '.join(wanted)}"


@dataclasses.dataclass(frozen=True)
class Job:
    kind: str  # "long" or "chat"
    arrival: float  # seconds after the start
    prompt: list[int]
    max_tokens: int


def workload(args, seed: int = 0) -> list[Job]:
    rng = np.random.default_rng(seed)

    def prompt(n: int) -> list[int]:
        return [1, *rng.integers(3, 49152, n - 1).tolist()]

    jobs = [Job("long", 1.0 * i, prompt(args.long_tokens), 16) for i in range(args.long)]
    jobs += [
        Job("chat", 0.25 * i, prompt(args.chat_tokens), args.chat_out) for i in range(args.chats)
    ]
    return sorted(jobs, key=lambda j: j.arrival)


def run(router, jobs: list[Job]) -> dict[str, list[list[float]]]:
    """Token arrival times of each job, by kind."""
    times: dict[str, list[list[float]]] = {"long": [], "chat": []}
    lock = threading.Lock()
    start = time.perf_counter()

    def client(job: Job) -> None:
        time.sleep(max(0.0, job.arrival - (time.perf_counter() - start)))
        params = SamplingParams(temperature=0, max_tokens=job.max_tokens, ignore_eos=True)
        stamps = [time.perf_counter()]  # sent, then each token's arrival
        for delta in router.stream(job.prompt, params):
            now = time.perf_counter()
            stamps += [now] * len(delta.token_ids)
        with lock:
            times[job.kind].append(stamps)

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def summarize(times: dict[str, list[list[float]]]) -> dict[str, float]:
    """Chats' TPOT and TTFT, and the gaps between tokens of every request (ITL)."""
    ttft = [s[1] - s[0] for s in times["chat"]]
    tokens = [s[1:] for kind in ("chat", "long") for s in times[kind]]
    tpot = [(s[-1] - s[0]) / (len(s) - 1) for s in tokens[: len(times["chat"])] if len(s) > 1]
    gaps = [b - a for s in tokens for a, b in itertools.pairwise(s)]
    gaps = [g for g in gaps if g > 0]  # tokens that came in one delta share a stamp

    def pct(values, q):
        return float(np.percentile(values, q)) * 1e3

    return {
        "chat TPOT p50 ms": pct(tpot, 50),
        "chat TPOT p99 ms": pct(tpot, 99),
        "ITL p50 ms": pct(gaps, 50),
        "ITL p99 ms": pct(gaps, 99),
        "ITL max ms": max(gaps) * 1e3,
        "chat TTFT p50 ms": pct(ttft, 50),
        "chat TTFT p99 ms": pct(ttft, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/work/benchmodel")
    parser.add_argument("--long", type=int, default=4)
    parser.add_argument("--long-tokens", type=int, default=1536)
    parser.add_argument("--chats", type=int, default=16)
    parser.add_argument("--chat-tokens", type=int, default=96)
    parser.add_argument("--chat-out", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    import ray

    from jaxserve.disagg import cluster

    print(f"CPU: {cpu_description()}")
    jobs = workload(args)
    results: dict[str, list[dict[str, float]]] = {"one engine": [], "disaggregated": []}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        for round_ in range(args.rounds):
            for name in results:
                router = cluster.start(
                    args.model,
                    disaggregated=name == "disaggregated",
                    prefill_options=ENGINE_OPTIONS,
                    decode_options=ENGINE_OPTIONS,
                )
                try:
                    began = time.perf_counter()
                    run(router, workload(args, seed=1))  # compiles the step shapes
                    print(f"{name}: warm-up pass {time.perf_counter() - began:.1f} s", flush=True)
                    began = time.perf_counter()
                    figures = summarize(run(router, jobs))
                    wall = time.perf_counter() - began
                finally:
                    router.close()
                results[name].append(figures)
                shown = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
                print(f"round {round_ + 1} {name}: {shown}; wall {wall:.1f} s", flush=True)
    finally:
        ray.shutdown()
    for name, rounds in results.items():
        merged = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        shown = ", ".join(f"{k} {v:.1f}" for k, v in merged.items())
        print(f"RESULT {name}: {shown}")


if __name__ == "__main__":
    main()
