"""A prompt's KV pages handed from a prefill engine to a decode engine give one engine's tokens."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.engine.handoff import DecodeEngine, Handoff, PrefillEngine
from jaxserve.engine.request import Request
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("handoff", "LlamaForCausalLM", num_kv_heads=2, seed=5)
OPTIONS = dict(
    max_model_len=160,
    num_pages=96,
    page_size=8,
    max_num_seqs=8,
    max_num_batched_tokens=32,  # the longer prompts take several chunks
    skip_tokenizer_init=True,
    warmup=False,
)
GREEDY = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True)


def make_prompts(seed: int = 0, lengths=(0, 5, 17, 60, 89)) -> list[list[int]]:
    """Mixed lengths (1 to 90 tokens); four share a 40-token prefix (five full pages)."""
    rng = np.random.default_rng(seed)
    shared = [1, *rng.integers(3, 320, 39).tolist()]
    prompts = [[1, *rng.integers(3, 320, n).tolist()] for n in lengths]
    prompts += [shared + rng.integers(3, 320, n).tolist() for n in (1, 9, 30, 50)]
    return prompts


PROMPTS = make_prompts()


@pytest.fixture(scope="module")
def path(tiny_checkpoints):
    return tiny_checkpoints(SPEC)


@pytest.fixture(scope="module")
def pair(path) -> tuple[PrefillEngine, DecodeEngine]:
    return PrefillEngine(LLM(path, **OPTIONS).engine), DecodeEngine(LLM(path, **OPTIONS).engine)


def disaggregated(pair, prompts, params) -> tuple[list[Request], list[Handoff]]:
    """Each prompt through the prefill engine, then its hand-off through the decode engine."""
    prefill, decode = pair
    if isinstance(params, SamplingParams):
        params = [params] * len(prompts)
    for i, (ids, p) in enumerate(zip(prompts, params, strict=True)):
        prefill.add_request(ids, p, request_id=f"r{i}")
    done: dict[str, Request] = {}
    handoffs = []
    while prefill.has_unfinished() or decode.has_unfinished():
        if prefill.has_unfinished():
            handed, failed = prefill.step()
            assert not failed
            for handoff in handed:
                handoffs.append(handoff)
                decode.add_handoff(handoff)
        done.update((r.request_id, r) for r in decode.step())
    for engine in (prefill.engine, decode.engine):
        assert engine.blocks.num_free_blocks == engine.blocks.capacity, "pages leaked"
    return [done[f"r{i}"] for i in range(len(prompts))], handoffs


@pytest.fixture(scope="module")
def single(path) -> LLM:
    """One engine with the same options, the reference."""
    return LLM(path, **OPTIONS)


def one_engine(llm: LLM, prompts, params):
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    return [o.outputs[0] for o in outs]


def test_greedy_tokens_match_one_engine(single, pair):
    alone = one_engine(single, PROMPTS, GREEDY)
    requests, handoffs = disaggregated(pair, PROMPTS, GREEDY)
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]
    assert all(r.finish_reason == "length" for r in requests)
    # The shared prefix hit the prefill side's cache, and the pages carried only the prompt.
    assert max(h.num_cached_tokens for h in handoffs) >= 32
    for handoff in handoffs:
        assert handoff.k.shape[1] == -(-len(handoff.prompt_token_ids) // 8)


def test_decode_side_caches_the_imported_pages(pair):
    _, decode = pair
    disaggregated(pair, PROMPTS[-2:], GREEDY)
    hits = decode.engine.blocks.prefix_hits
    requests, _ = disaggregated(pair, PROMPTS[-1:], GREEDY)
    # The same prompt again: its full pages (all but the one holding its last token) hit.
    assert requests[0].num_cached_tokens == (len(PROMPTS[-1]) - 1) // 8 * 8
    assert decode.engine.blocks.prefix_hits > hits


def test_seeded_sampling_and_logprobs_match_one_engine(single, pair):
    params = [
        SamplingParams(temperature=0.9, top_k=40, seed=7 + i, max_tokens=8, logprobs=2)
        for i in range(len(PROMPTS))
    ]
    alone = one_engine(single, PROMPTS, params)
    requests, _ = disaggregated(pair, PROMPTS, params)
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]
    for request, out in zip(requests, alone, strict=True):
        # Other batches round differently in the last bits; the ids and ranks are exact.
        for got, want in zip(request.logprobs, out.logprobs, strict=True):
            assert {t: lp.rank for t, lp in got.items()} == {t: lp.rank for t, lp in want.items()}
            for t, lp in got.items():
                assert lp.logprob == pytest.approx(want[t].logprob, abs=1e-5)
        assert request.cumulative_logprob == pytest.approx(out.cumulative_logprob, abs=1e-4)


def test_a_request_that_stops_on_its_first_token(single, pair):
    first = one_engine(single, PROMPTS[:1], GREEDY)[0].token_ids[0]
    params = SamplingParams(temperature=0, max_tokens=10, stop_token_ids=[first])
    requests, _ = disaggregated(pair, PROMPTS[:1], params)
    assert requests[0].output_token_ids == [first]
    assert requests[0].finish_reason == "stop"


def test_min_tokens_bars_stop_tokens_on_both_sides(single, pair):
    firsts = [o.token_ids[0] for o in one_engine(single, PROMPTS[:3], GREEDY)]
    params = SamplingParams(temperature=0, max_tokens=10, min_tokens=3, stop_token_ids=firsts)
    alone = one_engine(single, PROMPTS[:3], params)
    requests, _ = disaggregated(pair, PROMPTS[:3], params)
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]
    assert all(len(r.output_token_ids) >= 3 for r in requests)


def test_a_small_decode_cache_queues_hand_offs_and_preempts(path, single, pair):
    """Hand-offs wait for pages (and a sequence slot) on the decode side; when running
    requests outgrow its pool, one is preempted and the decode engine recomputes it."""
    small = LLM(path, **{**OPTIONS, "num_pages": 28, "max_num_seqs": 3}).engine
    params = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)
    alone = one_engine(single, PROMPTS, params)
    requests, _ = disaggregated((pair[0], DecodeEngine(small)), PROMPTS, params)
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]
    assert small.scheduler.num_preemptions > 0


def test_int8_kv_pages_move_as_codes(path):
    options = dict(OPTIONS, kv_cache_dtype="int8")
    alone = one_engine(LLM(path, **options), PROMPTS[3:6], GREEDY)
    pair = (
        PrefillEngine(LLM(path, **options).engine),
        DecodeEngine(LLM(path, **options).engine),
    )
    requests, handoffs = disaggregated(pair, PROMPTS[3:6], GREEDY)
    assert handoffs[0].k.dtype == np.int8
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]


def test_pages_of_another_shape_are_refused(pair):
    decode = pair[1]
    _, handoffs = disaggregated(pair, PROMPTS[1:2], GREEDY)
    handoff = handoffs[0]
    handoff.request_id = "wrong-dtype"
    handoff.k = handoff.k.astype(np.float16)
    decode.add_handoff(handoff)
    with pytest.raises(ValueError, match="same model"):
        decode.step()
    assert decode.engine.blocks.num_free_blocks == decode.engine.blocks.capacity


@pytest.mark.parametrize("sharded", ["prefill", "decode"])
def test_pages_cross_between_a_sharded_and_an_unsharded_cache(path, single, pair, sharded):
    """KV heads split over two devices on one side, whole on the other."""
    alone = one_engine(single, PROMPTS[2:5], GREEDY)
    split = LLM(path, **OPTIONS, tensor_parallel_size=2).engine
    if sharded == "prefill":
        mixed = (PrefillEngine(split), pair[1])
    else:
        mixed = (pair[0], DecodeEngine(split))
    requests, _ = disaggregated(mixed, PROMPTS[2:5], GREEDY)
    assert [r.output_token_ids for r in requests] == [o.token_ids for o in alone]
