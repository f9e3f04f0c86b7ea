"""Two replicas on a local Ray cluster behind the front: answers, routing, a replica's death.

One Ray cluster (2 CPUs, one per replica) and one `ReplicaSet` serve the whole module; each
test starts its own front over them. The replicas compile lazily (`warmup=False`).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import warnings

import httpx
import pytest

ray = pytest.importorskip("ray")

from benchmarks.replicas_routing import (  # noqa: E402
    REPLICA_CONFIG,
    front,
    routing_workload,
    run_workload,
)
from jaxserve import LLM, SamplingParams  # noqa: E402
from jaxserve.replicas.actors import ReplicaSet  # noqa: E402
from jaxserve.server.config import ServerConfig  # noqa: E402
from tests.tiny_models import TinySpec  # noqa: E402

SPEC = TinySpec("server", "LlamaForCausalLM", seed=5)
PROMPTS = [f"the quick brown fox {i} jumps over" for i in range(6)]
MAX_TOKENS = 12


@pytest.fixture(scope="module")
def config(tiny_checkpoints) -> ServerConfig:
    return ServerConfig(model=tiny_checkpoints(SPEC), **REPLICA_CONFIG)


@pytest.fixture(scope="module")
def replicas(config, tmp_path_factory):
    with warnings.catch_warnings():
        # Ray starts its daemons with fork + exec: nothing of JAX runs in the child.
        warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        cache = str(tmp_path_factory.mktemp("replica-xla"))
        pool = ReplicaSet(config, llm_options={"warmup": False, "compilation_cache_dir": cache})
        try:
            yield pool
        finally:
            pool.shutdown()
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def expected(config) -> dict[str, str]:
    """Greedy answers of the offline engine, which every replica must reproduce."""
    llm = LLM(config.model, warmup=False, max_model_len=64, num_pages=32, max_num_seqs=8)
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0, ignore_eos=True)
    return {o.prompt: o.outputs[0].text for o in llm.generate(PROMPTS, params)}


def complete(client: httpx.Client, prompt: str, **extra) -> httpx.Response:
    body = {"model": "tiny", "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0}
    return client.post("/v1/completions", json={**body, "ignore_eos": True, **extra})


def streamed_text(response: httpx.Response) -> tuple[str, list[dict]]:
    """The text of a completion stream, and the error events it carried."""
    text, errors = "", []
    for line in response.iter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line.removeprefix("data: "))
        if "error" in event:
            errors.append(event["error"])
        else:
            text += event["choices"][0]["text"]
    return text, errors


def test_every_answer_matches_the_offline_engine(replicas, config, expected):
    with front(replicas, config) as running, httpx.Client(base_url=running.url, timeout=120) as c:
        health = c.get("/health").json()
        assert [r["state"] for r in health["replicas"]] == ["up", "up"]
        assert c.get("/v1/models").json()["data"][0]["id"] == "tiny"
        for prompt in PROMPTS:
            assert complete(c, prompt).json()["choices"][0]["text"] == expected[prompt]
            with c.stream("POST", "/v1/completions", json=stream_body(prompt)) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                assert streamed_text(response) == (expected[prompt], [])
        messages = [{"role": "user", "content": PROMPTS[0]}]
        chat = {"model": "tiny", "messages": messages, "max_tokens": 4, "temperature": 0}
        first = c.post("/v1/chat/completions", json=chat).json()
        again = c.post("/v1/chat/completions", json=chat).json()
        assert first["choices"][0]["message"] == again["choices"][0]["message"]
        assert complete(c, PROMPTS[0], max_tokens=-1).status_code == 400  # relayed as it came
        metrics = c.get("/metrics").text
    assert 'jaxserve:prefix_cache_queries_total{replica="0"' in metrics
    assert 'jaxserve:prefix_cache_queries_total{replica="1"' in metrics
    assert "jaxserve:replicas_up 2" in metrics
    assert metrics.count("# TYPE jaxserve:prefix_cache_hits_total") == 1


def stream_body(prompt: str) -> dict:
    return {
        "model": "tiny",
        "prompt": prompt,
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
    }


def test_prefix_routing_hits_the_cache_far_more_than_round_robin(replicas, config):
    """One request at a time, so the hit rates do not depend on timing (benchmarks/RESULTS.md
    has them with requests in flight together too)."""
    rates = {}
    for seed, routing in enumerate(("prefix", "round_robin"), start=1):
        with front(replicas, dataclasses.replace(config, routing=routing)) as running:
            prompts = routing_workload(8, 16, seed=seed)
            rates[routing] = run_workload(running.url, prompts, concurrency=1)
    assert rates["prefix"] >= 1.8 * rates["round_robin"], rates
    assert rates["prefix"] > 0.5, rates  # most requests found their prefix's pages


def test_a_killed_replica_loses_no_unstarted_request_and_comes_back(replicas, config, expected):
    old_pid = replicas.pid(0)
    answers: dict[int, tuple[str, str, list[dict]]] = {}

    def send(i: int, client: httpx.Client) -> None:
        prompt = PROMPTS[i % len(PROMPTS)]
        if i % 4 == 3:
            with client.stream("POST", "/v1/completions", json=stream_body(prompt)) as response:
                answers[i] = (prompt, *streamed_text(response))
        else:
            response = complete(client, prompt, max_tokens=MAX_TOKENS)
            answers[i] = (prompt, response.json()["choices"][0]["text"], [])

    with front(replicas, config) as running, httpx.Client(base_url=running.url, timeout=300) as c:
        router = running.app.state.front.router
        threads = [threading.Thread(target=send, args=(i, c)) for i in range(16)]
        for thread in threads:
            thread.start()
        wait_for(lambda: router.in_flight[0] >= 2, "load on replica 0")
        replicas.restart(0)
        for thread in threads:
            thread.join(300)
        assert len(answers) == 16
        for prompt, text, errors in answers.values():
            if errors:  # cut after streaming began: what arrived is a true start
                assert errors[0]["code"] == "replica_failed" and expected[prompt].startswith(text)
            else:
                assert text == expected[prompt]
        assert sum(1 for *_, errors in answers.values() if not errors) >= 12
        wait_for(lambda: all(r["state"] == "up" for r in c.get("/health").json()["replicas"]))
        assert replicas.pid(0) != old_pid  # Ray started a new process
        router.set_up(1, False)  # only the restarted replica can answer now
        assert complete(c, PROMPTS[1]).json()["choices"][0]["text"] == expected[PROMPTS[1]]


def wait_for(condition, what: str = "the replicas to be up", timeout: float = 180.0) -> None:
    """Polls `condition` (a liveness wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
