#!/usr/bin/env python3
"""Soak test of `jaxserve run`: a mixed, hostile load for N minutes, then checks that nothing
was lost, corrupted or leaked.

usage: soak.py MODEL_DIR [--minutes 30] [--concurrency 10] [--fault-rate 0.003]
               [--kv-cache-memory 48MiB] [--port 8013] [--seed 0] [--json OUT]

The server runs in its own process with a small KV pool (preemption by recompute is forced),
a small step budget (long prompts are chunked) and `JAXSERVE_FAULT_INJECTION` set, so engine
steps fail at random. First, on the idle server, every greedy case (completion and chat, short
and long prompts, with and without logprobs) is answered one at a time: those answers are the
reference. Then `--concurrency` workers draw scenarios until the time is up: greedy calls
streamed and not, slow readers, `n > 1` sampling, logprobs, prompts over `max_model_len`,
clients that disconnect mid-stream, and storms of streams cancelled at once. At the end:

- every successful greedy answer equals its reference (no wrong answers);
- no 5xx but those whose message names an injected fault, and no other failure;
- the server goes idle with every KV page free, and /health is 200;
- resident memory grew by under 5% from the end of warm-up to the end;
- threads, descriptors and event-loop tasks are back to what they were before the load.

Prints one line a minute while it runs, then the summary, and exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

MODEL_NAME = "soak"
MAX_MODEL_LEN = 512
FAULT = "injected fault"


@dataclasses.dataclass(frozen=True)
class Case:
    """One greedy call whose answer must not depend on the load."""

    route: str  # "completion" or "chat"
    prompt: str
    max_tokens: int
    logprobs: bool = False

    def body(self, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": MODEL_NAME,
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "stream": stream,
        }
        if self.route == "completion":
            body["prompt"] = self.prompt
            if self.logprobs:
                body["logprobs"] = 2
        else:
            body["messages"] = [{"role": "user", "content": self.prompt}]
            if self.logprobs:
                body |= {"logprobs": True, "top_logprobs": 2}
        return body


@dataclasses.dataclass
class Outcome:
    """What one call got: its text per choice, or how it failed."""

    status: int = 0
    texts: dict[int, str] = dataclasses.field(default_factory=dict)
    finish: dict[int, str] = dataclasses.field(default_factory=dict)
    num_logprobs: dict[int, int] = dataclasses.field(default_factory=dict)
    error: str | None = None  # the server's error message (status or stream event)


class Tally:
    """Counts by kind, and the first examples of every kind of failure."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)
        self.fault_ids: set[int] = set()

    def add(self, kind: str, example: str | None = None) -> None:
        self.counts[kind] += 1
        if example is not None and len(self.examples[kind]) < 5:
            self.examples[kind].append(example[:400])


# ---- talking to the server ----


async def call(client: httpx.AsyncClient, route: str, body: dict[str, Any]) -> Outcome:
    """One call, streamed or not, read whole."""
    path = "/v1/completions" if route == "completion" else "/v1/chat/completions"
    outcome = Outcome()
    if not body.get("stream"):
        response = await client.post(path, json=body)
        outcome.status = response.status_code
        data = response.json()
        if response.status_code != 200:
            outcome.error = data.get("error", {}).get("message", response.text)
            return outcome
        for choice in data["choices"]:
            i = choice["index"]
            outcome.texts[i] = choice["text"] if route == "completion" else _message(choice)
            outcome.finish[i] = choice["finish_reason"]
            outcome.num_logprobs[i] = _num_logprobs(choice, route)
        return outcome
    async with client.stream("POST", path, json=body) as response:
        outcome.status = response.status_code
        if response.status_code != 200:
            data = json.loads(await response.aread())
            outcome.error = data.get("error", {}).get("message", str(data))
            return outcome
        async for event in _events(response):
            _add_chunk(outcome, event, route)
    return outcome


async def _events(response: httpx.Response, delay: float = 0.0):
    async for line in response.aiter_lines():
        if not line.startswith("data: "):
            continue
        data = line.removeprefix("data: ")
        if data == "[DONE]":
            return
        if delay:
            await asyncio.sleep(delay)
        yield json.loads(data)


def _add_chunk(outcome: Outcome, event: dict[str, Any], route: str) -> None:
    if "error" in event:
        outcome.error = event["error"].get("message", str(event))
        return
    for choice in event.get("choices", []):
        i = choice["index"]
        piece = choice["text"] if route == "completion" else choice["delta"].get("content")
        outcome.texts[i] = outcome.texts.get(i, "") + (piece or "")
        if choice.get("finish_reason"):
            outcome.finish[i] = choice["finish_reason"]
        outcome.num_logprobs[i] = outcome.num_logprobs.get(i, 0) + _num_logprobs(choice, route)


def _message(choice: dict[str, Any]) -> str:
    return choice["message"]["content"] or ""


def _num_logprobs(choice: dict[str, Any], route: str) -> int:
    logprobs = choice.get("logprobs")
    if not logprobs:
        return 0
    return len(logprobs["tokens"] if route == "completion" else logprobs["content"])


def judge(tally: Tally, outcome: Outcome, expected: Outcome | None, what: str) -> None:
    """Files one outcome: ok, fault (an injected one), or a failure of some kind."""
    if outcome.error is not None and FAULT in outcome.error:
        tally.add("fault_hit")
        tally.fault_ids.update(int(n) for n in re.findall(r"#(\d+)", outcome.error))
        return
    if outcome.status >= 500 or (outcome.status == 200 and outcome.error is not None):
        tally.add("unexpected_5xx", f"{what}: {outcome.status} {outcome.error}")
        return
    if outcome.status != 200:
        tally.add("unexpected_4xx", f"{what}: {outcome.status} {outcome.error}")
        return
    if expected is not None and outcome.texts != expected.texts:
        tally.add("wrong_greedy", f"{what}: got {outcome.texts!r}, idle {expected.texts!r}")
        return
    tally.add("ok")


# ---- scenarios ----


@dataclasses.dataclass
class Load:
    client: httpx.AsyncClient
    cases: list[Case]
    reference: dict[Case, Outcome]
    over_limit: str
    tally: Tally
    rng: random.Random


async def greedy(load: Load, *, stream: bool) -> None:
    case = load.rng.choice(load.cases)
    outcome = await call(load.client, case.route, case.body(stream=stream))
    judge(load.tally, outcome, load.reference[case], f"greedy {case.route} stream={stream}")
    if outcome.status == 200 and outcome.error is None and case.logprobs:
        want = {i: _tokens(load.reference[case], i) for i in outcome.texts}
        if outcome.num_logprobs != want:
            load.tally.add("wrong_logprobs", f"{outcome.num_logprobs} != {want}")


def _tokens(outcome: Outcome, index: int) -> int:
    return outcome.num_logprobs.get(index, 0)


async def slow_reader(load: Load) -> None:
    case = load.rng.choice(load.cases)
    outcome = Outcome()
    path = "/v1/completions" if case.route == "completion" else "/v1/chat/completions"
    async with load.client.stream("POST", path, json=case.body(stream=True)) as response:
        outcome.status = response.status_code
        if response.status_code == 200:
            async for event in _events(response, delay=load.rng.uniform(0.05, 0.3)):
                _add_chunk(outcome, event, case.route)
        else:
            outcome.error = (await response.aread()).decode()
    judge(load.tally, outcome, load.reference[case], "slow reader")
    load.tally.add("slow_readers")


async def sampled(load: Load) -> None:
    n = load.rng.choice([2, 3])
    case = load.rng.choice(load.cases)
    body = case.body(stream=load.rng.random() < 0.5)
    body |= {"n": n, "temperature": 0.9, "top_p": 0.95, "seed": load.rng.randrange(2**31)}
    outcome = await call(load.client, case.route, body)
    judge(load.tally, outcome, None, f"n={n}")
    if outcome.status == 200 and outcome.error is None and sorted(outcome.finish) != [*range(n)]:
        load.tally.add("wrong_n", f"n={n} but finished choices {sorted(outcome.finish)}")


async def over_limit(load: Load) -> None:
    route = load.rng.choice(["completion", "chat"])
    body = Case(route, load.over_limit, 8).body(stream=load.rng.random() < 0.5)
    outcome = await call(load.client, route, body)
    if outcome.status == 400 and "max_model_len" in (outcome.error or ""):
        load.tally.add("over_limit_refused")
    else:
        load.tally.add("unexpected_over_limit", f"{outcome.status} {outcome.error}")


async def disconnect(load: Load) -> None:
    case = load.rng.choice(load.cases)
    body = case.body(stream=True) | {"max_tokens": 200, "ignore_eos": True}
    path = "/v1/completions" if case.route == "completion" else "/v1/chat/completions"
    wanted = load.rng.randint(1, 6)
    async with load.client.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            load.tally.add("unexpected_disconnect_status", str(response.status_code))
            return
        seen = 0
        async for _ in _events(response):
            seen += 1
            if seen >= wanted:
                break
    load.tally.add("disconnects")


async def cancel_storm(load: Load) -> None:
    """16 streams at once, all cancelled (the connections dropped) a moment later."""

    async def one() -> None:
        case = load.rng.choice(load.cases)
        body = case.body(stream=True) | {"max_tokens": 100}
        judge(load.tally, await call(load.client, case.route, body), None, "storm")

    tasks = [asyncio.ensure_future(one()) for _ in range(16)]
    await asyncio.sleep(load.rng.uniform(0.05, 1.5))
    for task in tasks:
        task.cancel()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, asyncio.CancelledError):
            load.tally.add("cancelled")
        elif isinstance(result, BaseException):
            load.tally.add("client_error", f"storm: {type(result).__name__}: {result}")


SCENARIOS = (
    (25, lambda load: greedy(load, stream=True)),
    (20, lambda load: greedy(load, stream=False)),
    (6, slow_reader),
    (12, sampled),
    (5, over_limit),
    (10, disconnect),
    (2, cancel_storm),
)


async def worker(load: Load, deadline: float) -> None:
    weights = [w for w, _ in SCENARIOS]
    while time.monotonic() < deadline:
        (scenario,) = load.rng.choices([s for _, s in SCENARIOS], weights)
        try:
            await scenario(load)
        except (httpx.HTTPError, json.JSONDecodeError, KeyError) as e:
            load.tally.add("client_error", f"{type(e).__name__}: {e}")


# ---- the server process ----


def start_server(args: argparse.Namespace, workdir: Path) -> subprocess.Popen:
    config = workdir / "soak.yaml"
    config.write_text(
        f"model: {Path(args.model).resolve()}\nserved_model_name: {MODEL_NAME}\n"
        f"port: {args.port}\nmax_model_len: {MAX_MODEL_LEN}\nmax_num_seqs: 16\n"
        f"max_num_batched_tokens: 128\nkv_cache_memory: {args.kv_cache_memory}\n"
        "webui: false\nlog_level: warning\n"
    )
    env = {**os.environ, "JAXSERVE_FAULT_INJECTION": f"{args.fault_rate}:{args.seed}"}
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "jaxserve.cli", "run", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


async def wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 600:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if (await client.get("/health")).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("the server did not become healthy in 600 s")


async def metrics(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.removeprefix("jaxserve:").partition("{")
        reason = re.search(r'finished_reason="([^"]*)"', labels)
        values[f"{name}:{reason.group(1)}" if reason else name] = float(value)
    return values


async def wait_idle(client: httpx.AsyncClient, timeout: float = 120) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        values = await metrics(client)
        idle = values["num_requests_running"] == values["num_requests_waiting"] == 0
        if (idle and values["kv_cache_usage_perc"] == 0) or time.monotonic() > deadline:
            return values
        await asyncio.sleep(0.5)


async def wait_settled(
    control: httpx.AsyncClient, before: dict[str, float], timeout: float = 30
) -> dict[str, float]:
    """The idle server's metrics once its descriptors and threads are back where they were,
    or as they are after `timeout` s: the load client's sockets close on the server's side a
    moment after the client closed them."""
    values = await wait_idle(control)
    deadline = time.monotonic() + timeout
    settled = ("process_open_fds", "server_threads")
    while time.monotonic() < deadline and any(values[k] != before[k] for k in settled):
        await asyncio.sleep(1)
        values = await wait_idle(control)
    return values


def process_state(values: dict[str, float]) -> dict[str, float]:
    keys = ("process_resident_memory_bytes", "process_open_fds", "server_threads")
    return {k: values[k] for k in (*keys, "server_asyncio_tasks")}


# ---- the run ----


def prompt_pool(rng: random.Random) -> list[str]:
    """Python source from the standard library, cut into prompts of many lengths."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((stdlib / name).read_text() for name in ("os.py", "json/decoder.py"))
    prompts = []
    for length in [40, 150, 300, 600, 1000, 1400]:
        for _ in range(3):
            start = rng.randrange(len(text) - length)
            prompts.append(text[start : start + length])
    return prompts


async def build_cases(client: httpx.AsyncClient, rng: random.Random) -> tuple[list[Case], str]:
    cases, over = [], None
    for prompt in prompt_pool(rng):
        count = (await client.post("/tokenize", json={"prompt": prompt})).json()["count"]
        if count > MAX_MODEL_LEN - 80:
            continue
        for route in ("completion", "chat"):
            logprobs = rng.random() < 0.3
            cases.append(Case(route, prompt, rng.randint(8, 48), logprobs))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    over = (stdlib / "os.py").read_text()[:6000]  # well over 512 tokens
    return cases, over


async def reference(client: httpx.AsyncClient, cases: list[Case]) -> dict[Case, Outcome]:
    """Each case's answer on the idle server, one call at a time (faulted calls retried)."""
    answers = {}
    for case in cases:
        for _ in range(20):
            outcome = await call(client, case.route, case.body(stream=False))
            if outcome.error is None or FAULT not in outcome.error:
                break
        if outcome.status != 200:
            raise SystemExit(f"the reference call failed: {outcome.status} {outcome.error}")
        answers[case] = outcome
    return answers


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="jaxserve-soak-"))
    proc = start_server(args, workdir)
    limits = httpx.Limits(max_connections=args.concurrency * 20)
    timeout = httpx.Timeout(600)
    url = f"http://127.0.0.1:{args.port}"
    # Health, metrics and the process's figures go over a connection of their own that is
    # never kept: a load client's idle keep-alive connections are descriptors of the server's.
    control = httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_keepalive_connections=0))
    try:
        started = await wait_healthy(control, proc)
        print(f"server healthy after {started:.1f} s; log: {workdir / 'server.log'}")
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
            cases, over = await build_cases(client, rng)
            t0 = time.monotonic()
            answers = await reference(client, cases)
        print(f"{len(cases)} greedy cases answered on the idle server in "
              f"{time.monotonic() - t0:.1f} s")  # fmt: skip
        before = process_state(await wait_idle(control))
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
            summary = await load_phase(args, client, control, cases, answers, over, rng)
        after_values = await wait_settled(control, before)
        summary["health"] = (await control.get("/health")).status_code
        summary["before"], summary["after"] = before, process_state(after_values)
        summary["metrics"] = {
            k: after_values[k]
            for k in (
                "num_requests_running",
                "num_requests_waiting",
                "kv_cache_usage_perc",
                "num_preemptions_total",
                "request_success_total:error",
                "request_success_total:abort",
                "request_success_total:stop",
                "request_success_total:length",
                "generation_tokens_total",
            )
        }
    finally:
        await control.aclose()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(120)
    summary["server_exit"] = code
    return report(args, summary)


async def load_phase(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    cases: list[Case],
    answers: dict[Case, Outcome],
    over: str,
    rng: random.Random,
) -> dict[str, Any]:
    tally = Tally()
    load = Load(client, cases, answers, over, tally, rng)
    start = time.monotonic()
    deadline = start + args.minutes * 60
    warmup_end = start + max(60.0, args.minutes * 60 * 0.1)
    workers = [asyncio.ensure_future(worker(load, deadline)) for _ in range(args.concurrency)]
    warm_rss = None
    last_print = start
    while not all(w.done() for w in workers):
        await asyncio.sleep(1)
        now = time.monotonic()
        if warm_rss is None and now >= warmup_end:
            warm_rss = (await metrics(control))["process_resident_memory_bytes"]
        if now - last_print < 60:
            continue
        last_print = now
        values = await metrics(control)
        print(
            f"[{(time.monotonic() - start) / 60:5.1f} min] {dict(tally.counts)} "
            f"rss={values['process_resident_memory_bytes'] / 2**20:.0f}MiB "
            f"preemptions={values['num_preemptions_total']:.0f}",
            flush=True,
        )
    for w in workers:
        w.result()
    return {
        "minutes": args.minutes,
        "counts": dict(tally.counts),
        "examples": dict(tally.examples),
        "faults_seen": len(tally.fault_ids),
        "warm_rss": warm_rss,
    }


def report(args: argparse.Namespace, s: dict[str, Any]) -> int:
    counts = collections.Counter(s["counts"])
    before, after, m = s["before"], s["after"], s["metrics"]
    end_rss = after["process_resident_memory_bytes"]
    warm_rss = s["warm_rss"] or before["process_resident_memory_bytes"]
    growth = (end_rss - warm_rss) / warm_rss
    failures = sum(
        counts[k] for k in counts if k.startswith(("unexpected", "wrong")) or k in ("client_error",)
    )
    requests = sum(counts[k] for k in ("ok", "fault_hit", "over_limit_refused", "disconnects"))
    checks = {
        "0 wrong greedy answers": counts["wrong_greedy"] == 0 and counts["wrong_logprobs"] == 0,
        "0 unexpected 5xx": counts["unexpected_5xx"] == 0,
        "0 other failures": failures - counts["wrong_greedy"] - counts["unexpected_5xx"] == 0,
        "faults were injected and seen": s["faults_seen"] > 0,
        "preemptions happened": m["num_preemptions_total"] > 0,
        "pages back to full, nothing running": m["kv_cache_usage_perc"] == 0
        and m["num_requests_running"] == m["num_requests_waiting"] == 0,
        "/health 200 at the end": s["health"] == 200,
        "RSS growth after warm-up < 5%": growth < 0.05,
        "threads back": after["server_threads"] == before["server_threads"],
        "descriptors back": after["process_open_fds"] == before["process_open_fds"],
        "event-loop tasks back": after["server_asyncio_tasks"] == before["server_asyncio_tasks"],
        "server exited 0 on SIGTERM": s["server_exit"] == 0,
    }
    cpu = _cpu()
    print(f"\nsoak summary: {s['minutes']} min, {args.concurrency} workers, "
          f"fault rate {args.fault_rate}, KV {args.kv_cache_memory}; {cpu}")  # fmt: skip
    print(f"  calls answered: {requests} (ok {counts['ok']}, hit by a fault "
          f"{counts['fault_hit']}, refused over max_model_len {counts['over_limit_refused']}, "
          f"disconnected {counts['disconnects']}); slow readers {counts['slow_readers']}, "
          f"cancelled in storms {counts['cancelled']}")  # fmt: skip
    print(f"  faults injected and seen by clients: {s['faults_seen']}; engine requests ended "
          f"by error {m['request_success_total:error']:.0f}, aborted "
          f"{m['request_success_total:abort']:.0f}; preemptions "
          f"{m['num_preemptions_total']:.0f}; tokens generated "
          f"{m['generation_tokens_total']:.0f}")  # fmt: skip
    print(f"  RSS: {warm_rss / 2**20:.1f} MiB after warm-up -> {end_rss / 2**20:.1f} MiB "
          f"({growth:+.2%})")  # fmt: skip
    for key in ("server_threads", "process_open_fds", "server_asyncio_tasks"):
        print(f"  {key}: {before[key]:.0f} before, {after[key]:.0f} after")
    for kind, examples in s["examples"].items():
        for example in examples:
            print(f"  {kind}: {example}")
    for name, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    if args.json:
        Path(args.json).write_text(json.dumps({**s, "checks": checks, "cpu": cpu}, indent=1))
    return 0 if all(checks.values()) else 1


def _cpu() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*: (.*)", info).group(1)  # type: ignore[union-attr]
        flags = set(re.search(r"flags\s*: (.*)", info).group(1).split())  # type: ignore[union-attr]
        model += " (" + ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16") if f in flags) + ")"
    except (OSError, AttributeError):
        pass
    return f"{model}, {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a Hugging Face model directory (the benchmark checkpoint)")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=10, help="workers drawing scenarios")
    parser.add_argument("--fault-rate", type=float, default=0.003, help="steps that fail")
    parser.add_argument("--kv-cache-memory", default="48MiB", help="small: forces preemption")
    parser.add_argument("--port", type=int, default=8013)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the summary here")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
