"""Sampling through the whole engine: seeds, n, stop strings, logprobs."""

from __future__ import annotations

import math

import pytest

from jaxserve import LLM, SamplingParams
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("sampling", "Qwen3ForCausalLM", num_kv_heads=2, seed=7)
PROMPT = {"prompt_token_ids": [1, 40, 41, 42, 43]}


@pytest.fixture(scope="module")
def llm(tiny_checkpoints):
    return LLM(tiny_checkpoints(SPEC), max_model_len=128, seed=0)


def tokens(llm, prompts, params):
    return [o.outputs[0].token_ids for o in llm.generate(prompts, params, use_tqdm=False)]


@pytest.mark.parametrize(
    "params",
    [
        SamplingParams(temperature=1.0, seed=11, max_tokens=16),
        SamplingParams(temperature=0.8, top_k=20, top_p=0.9, min_p=0.05, seed=12, max_tokens=16),
        SamplingParams(
            temperature=1.2,
            presence_penalty=0.5,
            frequency_penalty=0.3,
            repetition_penalty=1.2,
            logit_bias={7: 2.0},
            seed=13,
            max_tokens=16,
        ),
    ],
)
def test_seeded_request_is_the_same_alone_and_in_a_mixed_batch(llm, params):
    alone = tokens(llm, PROMPT, params)[0]
    others = [
        ({"prompt_token_ids": [1, 9, 9, 9]}, SamplingParams(temperature=1.0, max_tokens=20)),
        ({"prompt_token_ids": list(range(3, 70))}, SamplingParams(temperature=0, max_tokens=8)),
        (
            {"prompt_token_ids": [1, 2]},
            SamplingParams(temperature=0.5, top_p=0.5, max_tokens=4, logprobs=2),
        ),
    ]
    prompts = [others[0][0], PROMPT, others[1][0], others[2][0]]
    batch = [others[0][1], params, others[1][1], others[2][1]]
    assert tokens(llm, prompts, batch)[1] == alone
    assert len(set(alone)) > 3, "a sampled continuation should vary"


def test_seeded_request_beside_chunked_prompts(tiny_checkpoints):
    """Six requests (the step's sampling rows are padded to its slot bucket), and a long
    prompt chunked over steps in which the others decode (the step runs in two parts)."""
    llm = LLM(tiny_checkpoints(SPEC), max_model_len=128, max_num_batched_tokens=32, seed=0)
    params = SamplingParams(temperature=1.0, seed=21, max_tokens=12)
    alone = tokens(llm, PROMPT, params)[0]
    prompts = [{"prompt_token_ids": [1, 5 + i, 6 + i]} for i in range(4)]
    prompts += [{"prompt_token_ids": list(range(3, 90))}, PROMPT]
    batch = [SamplingParams(temperature=0.7, max_tokens=20, ignore_eos=True)] * 4
    batch += [SamplingParams(temperature=0, max_tokens=4, ignore_eos=True), params]
    outputs = tokens(llm, prompts, batch)
    assert outputs[-1] == alone
    assert [len(t) for t in outputs[:5]] == [20] * 4 + [4]


def test_unseeded_requests_differ(llm):
    params = SamplingParams(temperature=1.0, max_tokens=12)
    first, second = tokens(llm, [PROMPT, PROMPT], params)
    assert first != second


def test_n_gives_indexed_reproducible_samples(llm):
    params = SamplingParams(temperature=1.0, n=3, seed=5, max_tokens=10)
    (out,) = llm.generate(PROMPT, params, use_tqdm=False)
    assert [c.index for c in out.outputs] == [0, 1, 2]
    samples = [c.token_ids for c in out.outputs]
    assert len({tuple(s) for s in samples}) == 3
    (again,) = llm.generate(PROMPT, params, use_tqdm=False)
    assert [c.token_ids for c in again.outputs] == samples
    one = SamplingParams(temperature=1.0, seed=6, max_tokens=10)
    assert tokens(llm, PROMPT, one)[0] == samples[1], "sample i uses seed + i"


def test_stop_strings_trim_the_text(llm):
    greedy = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)
    (free,) = llm.generate("hello world", greedy, use_tqdm=False)
    text = free.outputs[0].text
    stop = text[8:11]
    assert len(stop) == 3 and text.find(stop) >= 4
    cut = text.find(stop)
    for include, expected in ((False, text[:cut]), (True, text[: cut + 3])):
        params = SamplingParams(
            temperature=0,
            max_tokens=24,
            ignore_eos=True,
            stop=[stop],
            include_stop_str_in_output=include,
        )
        (out,) = llm.generate("hello world", params, use_tqdm=False)
        completion = out.outputs[0]
        assert completion.text == expected
        assert completion.finish_reason == "stop" and completion.stop_reason == stop
        assert completion.token_ids == free.outputs[0].token_ids[: len(completion.token_ids)]


def test_logprobs(llm):
    params = SamplingParams(temperature=0, max_tokens=6, logprobs=2, ignore_eos=True)
    (out,) = llm.generate(PROMPT, params, use_tqdm=False)
    completion = out.outputs[0]
    assert len(completion.logprobs) == 6
    total = 0.0
    for token, entry in zip(completion.token_ids, completion.logprobs, strict=True):
        assert token in entry and entry[token].rank == 1, "greedy picks the top token"
        assert len(entry) == 2  # the sampled token is also the top-1 alternative
        ranked = sorted(entry.values(), key=lambda lp: lp.rank)
        assert ranked[0].logprob >= ranked[1].logprob
        assert entry[token].logprob <= 0
        total += entry[token].logprob
    assert math.isclose(completion.cumulative_logprob, total, rel_tol=1e-6)
    no_logprobs = llm.generate(PROMPT, SamplingParams(temperature=0, max_tokens=2), use_tqdm=False)
    assert no_logprobs[0].outputs[0].logprobs is None


def test_min_tokens_holds_off_stop_tokens(llm):
    free = tokens(llm, PROMPT, SamplingParams(temperature=0, max_tokens=8, ignore_eos=True))[0]
    first = free[0]
    params = SamplingParams(temperature=0, max_tokens=8, stop_token_ids=[first], min_tokens=3)
    out = tokens(llm, PROMPT, params)[0]
    assert out[0] != first, "the stop token was banned for the first min_tokens tokens"
    assert len(out) >= 3


def test_prompt_logprobs_match_the_model(tiny_checkpoints):
    import numpy as np
    import torch

    from tests.tiny_models import load_hf_model

    path = tiny_checkpoints(SPEC)
    prompt = [1, *range(50, 80)]
    # A small token budget splits the prompt into chunks; each reports its own rows.
    llm = LLM(
        path, max_model_len=128, max_num_batched_tokens=8, page_size=8, skip_tokenizer_init=True
    )
    params = SamplingParams(temperature=0, max_tokens=2, prompt_logprobs=2)
    (out,) = llm.generate({"prompt_token_ids": prompt}, params, use_tqdm=False)
    with torch.no_grad():
        ref = torch.log_softmax(load_hf_model(path)(torch.tensor([prompt])).logits[0], -1)
    assert out.prompt_logprobs[0] is None and len(out.prompt_logprobs) == len(prompt)
    for position in range(1, len(prompt)):
        entry = out.prompt_logprobs[position]
        expected = ref[position - 1].numpy()
        token = prompt[position]
        np.testing.assert_allclose(entry[token].logprob, expected[token], rtol=1e-4, atol=1e-5)
        assert entry[token].rank == 1 + int((expected > expected[token]).sum())
        assert set(np.argsort(-expected)[:2]) <= set(entry), f"top-2 missing at {position}"
    assert (
        llm.generate({"prompt_token_ids": prompt}, SamplingParams(max_tokens=1), use_tqdm=False)[
            0
        ].prompt_logprobs
        is None
    )


def test_bad_words_never_appear(llm):
    """The greedy continuation's words, barred one at a time, are then never generated."""
    params = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    free = tokens(llm, PROMPT, params)[0]
    tok = llm.tokenizer
    words = {tok.decode([t]).strip() for t in free} - {""}
    checked = 0
    for word in sorted(words):
        sequences = [tok.encode(w, add_special_tokens=False) for w in (word, " " + word)]
        if not any(len(ids) == 1 and ids[0] in free for ids in sequences) or checked == 3:
            continue  # a word the greedy output holds as one token: barring it must change it
        barred = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True, bad_words=[word])
        out = tokens(llm, PROMPT, barred)[0]
        assert out != free
        for ids in sequences:  # no window of the output spells the word's tokens
            windows = [out[i : i + len(ids)] for i in range(len(out) - len(ids) + 1)]
            assert ids not in windows, (word, ids, out)
        checked += 1
    assert checked >= 1


def test_bad_words_refused_when_blank():
    with pytest.raises(ValueError, match="bad_words must be non-blank"):
        SamplingParams(bad_words=["  "])
