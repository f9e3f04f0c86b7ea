"""A prefill worker and a decode worker in their own Ray processes give one engine's tokens."""

from __future__ import annotations

import time
import warnings

import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.disagg.worker import EngineWorker, WorkerError
from tests.jaxserve.engine.test_handoff import OPTIONS, SPEC, make_prompts

ray = pytest.importorskip("ray")
from starlette.testclient import TestClient  # noqa: E402

from jaxserve.disagg import cluster  # noqa: E402 (needs ray)
from jaxserve.disagg.remote_prefill import RemotePrefillEngine  # noqa: E402
from jaxserve.disagg.serve import decode_remotely  # noqa: E402
from jaxserve.server.app import create_app  # noqa: E402
from jaxserve.server.config import ServerConfig  # noqa: E402

pytestmark = pytest.mark.cpu

GREEDY = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
PROMPTS = make_prompts(seed=1, lengths=(0, 12, 70, 89))


@pytest.fixture(scope="module")
def path(tiny_checkpoints):
    return tiny_checkpoints(SPEC)


@pytest.fixture(scope="module")
def one_engine(path) -> LLM:
    return LLM(path, **OPTIONS)


@pytest.fixture(scope="module")
def router(path, tmp_path_factory):
    options = dict(OPTIONS, compilation_cache_dir=str(tmp_path_factory.mktemp("disagg-xla")))
    with warnings.catch_warnings():
        # Ray starts its daemons with fork + exec: nothing of JAX runs in the child.
        warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        router = cluster.start(path, prefill_options=options, decode_options=options)
        yield router
        router.close()
    finally:
        ray.shutdown()


def expected(llm: LLM, prompts, params) -> list[list[int]]:
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    return [o.outputs[0].token_ids for o in outs]


def test_greedy_tokens_match_one_engine(router, one_engine):
    assert router.disaggregated
    assert router.generate(PROMPTS, GREEDY) == expected(one_engine, PROMPTS, GREEDY)


def test_tokens_stream_from_the_decode_side(router):
    params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)
    deltas = list(router.stream(PROMPTS[2], params, request_id="streamed"))
    assert sum(len(d.token_ids) for d in deltas) == 6
    assert len(deltas) > 1  # the first token, then one a step
    assert [d.finish_reason for d in deltas] == [None] * (len(deltas) - 1) + ["length"]


def test_seeded_sampling_matches_one_engine(router, one_engine):
    params = [
        SamplingParams(temperature=1.0, seed=11 + i, max_tokens=6, ignore_eos=True)
        for i in range(len(PROMPTS))
    ]
    assert router.generate(PROMPTS, params) == expected(one_engine, PROMPTS, params)


def test_a_bad_request_fails_its_caller_only(router, one_engine):
    with pytest.raises(WorkerError, match="outside the vocabulary"):
        list(router.stream([1, 10_000], GREEDY))
    assert router.generate(PROMPTS[:2], GREEDY) == expected(one_engine, PROMPTS[:2], GREEDY)


def test_one_engine_worker_in_process(path, one_engine):
    worker = EngineWorker(path, "both", **OPTIONS)
    try:
        tokens = [t for d in worker.generate("w0", PROMPTS[3], GREEDY) for t in d.token_ids]
        with pytest.raises(WorkerError, match="role is 'both'"):
            worker.prefill("w1", PROMPTS[0], GREEDY)
    finally:
        worker.close()
    assert tokens == expected(one_engine, PROMPTS[3:4], GREEDY)[0]


def test_a_stream_closed_early_aborts_its_request(router):
    params = SamplingParams(temperature=0, max_tokens=100, ignore_eos=True)
    stream = router.stream(PROMPTS[3], params, request_id="left")
    first = next(stream)
    assert first.token_ids and first.finish_reason is None
    stream.close()
    deadline = time.monotonic() + 30
    while ray.get(router.decode.num_unfinished.remote()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ray.get(router.decode.num_unfinished.remote()) == 0
    assert ray.get(router.prefill.num_unfinished.remote()) == 0


@pytest.fixture(scope="module")
def decode_llm(path) -> LLM:
    """An in-process decode engine (with its tokenizer, as a server has)."""
    return LLM(path, **{**OPTIONS, "skip_tokenizer_init": False})


def test_a_local_engine_decodes_what_the_prefill_actor_computes(router, one_engine, decode_llm):
    engine = RemotePrefillEngine(decode_llm.engine, router.prefill)
    requests = [
        engine.add_request(p, GREEDY, request_id=f"remote-{i}") for i, p in enumerate(PROMPTS)
    ]
    with pytest.raises(ValueError, match="already in use"):
        engine.add_request(PROMPTS[0], GREEDY, request_id="remote-0")
    while engine.has_unfinished():
        engine.step()
    assert [r.output_token_ids for r in requests] == expected(one_engine, PROMPTS, GREEDY)
    blocks = decode_llm.engine.blocks
    assert blocks.num_free_blocks == blocks.capacity


def test_the_openai_server_serves_through_both(path, router, decode_llm):
    """`create_app` over a decode engine whose prompts go to the prefill actor, as
    `jaxserve run` with `disaggregated_prefill: true` serves it."""
    body = {"model": "tiny", "prompt": "the quick brown fox", "max_tokens": 8, "temperature": 0}
    params = SamplingParams(temperature=0, max_tokens=8)
    want = decode_llm.generate(body["prompt"], params, use_tqdm=False)[0].outputs[0].text
    local = decode_llm.engine
    with decode_remotely(decode_llm, router.prefill):
        assert isinstance(decode_llm.engine, RemotePrefillEngine)
        config = ServerConfig(model=path, served_model_name="tiny", disaggregated_prefill=True)
        app = create_app(decode_llm, config)
        with TestClient(app) as client:
            reply = client.post("/v1/completions", json=body)
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["text"] == want
            with client.stream("POST", "/v1/completions", json={**body, "stream": True}) as r:
                events = [line for line in r.iter_lines() if line.startswith("data: {")]
            assert len(events) > 1
    assert decode_llm.engine is local


def test_stop_strings_are_found_on_the_decode_side(router, decode_llm):
    """The prefill worker has no tokenizer: the decode side finds a stop string, even one the
    first token completes."""
    free = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    text = decode_llm.generate("a b c", free, use_tqdm=False)[0].outputs[0].text
    for stop in (text[:2], text[len(text) // 2 : len(text) // 2 + 2]):
        params = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True, stop=[stop])
        want = decode_llm.generate("a b c", params, use_tqdm=False)[0].outputs[0]
        engine = RemotePrefillEngine(decode_llm.engine, router.prefill)
        ids = decode_llm.tokenizer.encode("a b c")
        request = engine.add_request(ids, params, request_id=f"stop-{stop!r}")
        while engine.has_unfinished():
            engine.step()
        assert (request.text, request.output_token_ids) == (want.text, want.token_ids)
        assert request.finish_reason == want.finish_reason == "stop"
