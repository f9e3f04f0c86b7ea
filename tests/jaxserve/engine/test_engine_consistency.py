"""Greedy tokens do not depend on batching, chunking, preemption or prefix-cache hits."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve import LLM, SamplingParams
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("consistency", "LlamaForCausalLM", num_kv_heads=2, seed=5)
PARAMS = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)


def make_prompts(n: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[1, *rng.integers(3, 320, int(rng.integers(1, 60))).tolist()] for _ in range(n)]


PROMPTS = make_prompts(64)


@pytest.fixture(scope="module")
def path(tiny_checkpoints):
    return tiny_checkpoints(SPEC)


def run(llm: LLM, prompts) -> list[list[int]]:
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts], PARAMS, use_tqdm=False)
    assert llm.engine.blocks.num_free_blocks == llm.engine.blocks.capacity, "pages leaked"
    return [o.outputs[0].token_ids for o in outs]


@pytest.fixture(scope="module")
def alone(path) -> list[list[int]]:
    """Each prompt on its own, one at a time, without prefix caching."""
    llm = LLM(
        path,
        max_model_len=128,
        max_num_seqs=1,
        enable_prefix_caching=False,
        skip_tokenizer_init=True,
    )
    return [run(llm, [p])[0] for p in PROMPTS[:8]] + run(llm, PROMPTS[8:])


def test_batch_of_64_matches_alone(path, alone):
    llm = LLM(
        path,
        max_model_len=128,
        max_num_seqs=64,
        max_num_batched_tokens=4096,
        skip_tokenizer_init=True,
    )
    assert run(llm, PROMPTS) == alone


@pytest.mark.parametrize("budget", [16, 40, 128])
def test_chunked_prefill_matches_alone(path, alone, budget):
    llm = LLM(
        path,
        max_model_len=128,
        max_num_seqs=16,
        max_num_batched_tokens=budget,
        page_size=8,
        skip_tokenizer_init=True,
    )
    assert run(llm, PROMPTS) == alone


def test_preempted_requests_match_alone(path, alone):
    # 24 pages of 8 tokens cannot hold 16 running sequences: requests get preempted.
    llm = LLM(
        path,
        max_model_len=128,
        max_num_seqs=16,
        num_pages=25,
        page_size=8,
        enable_prefix_caching=False,
        skip_tokenizer_init=True,
    )
    assert run(llm, PROMPTS) == alone
    assert llm.engine.scheduler.num_preemptions > 0


def test_prefix_cache_hits_match_alone(path, alone):
    llm = LLM(path, max_model_len=128, max_num_seqs=16, page_size=8, skip_tokenizer_init=True)
    assert run(llm, PROMPTS[:32]) == alone[:32]
    hits_before = llm.engine.blocks.prefix_hits
    # The same prompts again, and prompts extending them, now read cached pages.
    extended = [[*p, 5, 6, 7, 8, 9, 10, 11, 12] for p in PROMPTS[:8]]
    assert run(llm, PROMPTS[:32]) == alone[:32]
    assert llm.engine.blocks.prefix_hits > hits_before
    reference = LLM(path, max_model_len=128, enable_prefix_caching=False, skip_tokenizer_init=True)
    assert run(llm, extended) == run(reference, extended)


def test_cache_salt_isolates_tenants(path):
    llm = LLM(path, max_model_len=128, page_size=8, skip_tokenizer_init=True)
    prompt = PROMPTS[0] + list(range(10, 40))
    engine = llm.engine
    for salt in ("a", "b"):
        engine.add_request(prompt, PARAMS, cache_salt=salt)
        while engine.has_unfinished():
            engine.step()
    assert engine.blocks.prefix_hits == 0, "a different salt must not hit"
    engine.add_request(prompt, PARAMS, cache_salt="a")
    while engine.has_unfinished():
        engine.step()
    assert engine.blocks.prefix_hits > 0
