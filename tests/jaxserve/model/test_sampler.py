"""The device sampler against the intended transforms, statistically, on a small vocabulary."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

from jaxserve.model.sampler import SamplingBatch, argmax, sample
from jaxserve.model.sampling_mode import SamplingMode

V = 8
N = 20000
LOGITS = np.array([2.0, 1.5, 1.2, 0.9, 0.3, 0.0, -0.5, -1.0], np.float32)
sample_jit = jax.jit(sample, static_argnames="mode")


def batch(rows=N, **overrides) -> SamplingBatch:
    fields = dict(
        temperature=np.ones(rows, np.float32),
        top_k=np.zeros(rows, np.int32),
        top_p=np.ones(rows, np.float32),
        min_p=np.zeros(rows, np.float32),
        seeds=np.full(rows, 1234, np.uint32),
        steps=np.arange(rows, dtype=np.int32),  # independent draws: one key per step
        presence_penalty=np.zeros(rows, np.float32),
        frequency_penalty=np.zeros(rows, np.float32),
        repetition_penalty=np.ones(rows, np.float32),
        output_ids=np.full((rows, 1), V, np.int32),
        prompt_ids=np.full((rows, 1), V, np.int32),
        bias_ids=np.full((rows, 1), V, np.int32),
        bias_values=np.zeros((rows, 1), np.float32),
        token_mask=np.full((rows, 1), -1, np.int32),
    )
    for name, value in overrides.items():
        value = np.asarray(value)
        if fields[name].ndim == 2:  # one token list shared by every row
            value = np.broadcast_to(value, (rows, value.shape[-1]))
        fields[name] = np.broadcast_to(
            value, (rows, *value.shape[1:]) if value.ndim == 2 else (rows,)
        )
    return SamplingBatch(**{k: np.ascontiguousarray(v) for k, v in fields.items()})


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def draw(mode: SamplingMode, logits=LOGITS, **overrides) -> np.ndarray:
    out = sample_jit(np.tile(logits, (N, 1)), batch(**overrides), mode)
    return np.bincount(np.asarray(out.tokens), minlength=V)


def assert_distribution(counts: np.ndarray, expected: np.ndarray) -> None:
    assert counts[expected == 0].sum() == 0, f"filtered tokens were drawn: {counts}"
    keep = expected > 0
    want = expected[keep].astype(np.float64)
    result = stats.chisquare(counts[keep], want / want.sum() * counts.sum())
    assert result.pvalue > 1e-4, f"counts {counts} vs expected {np.round(expected * N)}"


SAMPLED = SamplingMode(greedy_only=False)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_temperature(temperature):
    counts = draw(SAMPLED, temperature=np.float32(temperature))
    assert_distribution(counts, softmax(LOGITS / temperature))


def test_top_k():
    expected = np.zeros(V)
    expected[:3] = softmax(LOGITS[:3])
    assert_distribution(draw(SamplingMode(False, candidates=V), top_k=np.int32(3)), expected)
    # a candidate cap above k gives the same distribution
    assert_distribution(draw(SamplingMode(False, candidates=4), top_k=np.int32(3)), expected)


def test_top_p():
    p = softmax(LOGITS)
    before = np.cumsum(p) - p
    expected = np.where(before < 0.7, p, 0.0)
    expected /= expected.sum()
    assert 2 <= (expected > 0).sum() < V
    assert_distribution(draw(SamplingMode(False, candidates=V), top_p=np.float32(0.7)), expected)


def test_min_p():
    p = softmax(LOGITS / 0.8)
    expected = np.where(p >= 0.3 * p.max(), p, 0.0)
    expected /= expected.sum()
    counts = draw(
        SamplingMode(False, candidates=V), min_p=np.float32(0.3), temperature=np.float32(0.8)
    )
    assert_distribution(counts, expected)


def test_min_p_then_top_k_then_top_p():
    p = softmax(LOGITS)
    keep = (p >= 0.15 * p.max()) & (np.arange(V) < 4)
    q = np.where(keep, p, 0.0) / np.where(keep, p, 0.0).sum()
    q = np.where(np.cumsum(q) - q < 0.8, q, 0.0)
    counts = draw(
        SamplingMode(False, candidates=V),
        min_p=np.float32(0.15),
        top_k=np.int32(4),
        top_p=np.float32(0.8),
    )
    assert_distribution(counts, q / q.sum())


def test_penalties_and_bias():
    output_ids = np.array([0, 0, 0, 2, V, V], np.int32)  # token 0 three times, token 2 once
    prompt_ids = np.array([1, 3, V, V], np.int32)
    adjusted = LOGITS.copy()
    for t in (0, 1, 2, 3):  # repetition: divide positive logits, multiply negative ones
        adjusted[t] = adjusted[t] / 1.5 if adjusted[t] > 0 else adjusted[t] * 1.5
    adjusted[0] -= 0.2 * 3 + 0.4
    adjusted[2] -= 0.2 * 1 + 0.4
    adjusted[6] += 2.0
    adjusted[5] = -np.inf
    counts = draw(
        SamplingMode(False, penalties=True, logit_bias=True),
        repetition_penalty=np.float32(1.5),
        frequency_penalty=np.float32(0.2),
        presence_penalty=np.float32(0.4),
        output_ids=output_ids,
        prompt_ids=prompt_ids,
        bias_ids=np.array([6, 5], np.int32),
        bias_values=np.array([2.0, -np.inf], np.float32),
    )
    assert_distribution(counts, softmax(adjusted))


def test_greedy_rows_take_the_penalized_argmax():
    rows = 4
    logits = np.tile(LOGITS, (rows, 1))
    sb = batch(
        rows,
        temperature=np.float32(0.0),
        bias_ids=np.array([0, 4], np.int32),
        bias_values=np.array([-10.0, 5.0], np.float32),
    )
    out = sample_jit(logits, sb, SamplingMode(greedy_only=True, logit_bias=True))
    assert np.all(np.asarray(out.tokens) == 4)


def test_seeded_draws_do_not_depend_on_the_batch():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((16, V)).astype(np.float32)
    sb = batch(
        16,
        seeds=rng.integers(0, 2**32, 16, dtype=np.uint32),
        steps=rng.integers(0, 100, 16).astype(np.int32),
    )
    full = np.asarray(sample_jit(logits, sb, SAMPLED).tokens)
    order = rng.permutation(16)
    shuffled = jax.tree.map(lambda x: np.asarray(x)[order], sb)
    again = np.asarray(sample_jit(logits[order], shuffled, SAMPLED).tokens)
    np.testing.assert_array_equal(again, full[order])


def test_logprobs_and_ranks_are_of_the_raw_distribution():
    rows = 3
    out = sample_jit(
        np.tile(LOGITS, (rows, 1)),
        batch(
            rows,
            temperature=np.float32(0.0),
            bias_ids=np.array([5], np.int32),
            bias_values=np.array([10.0], np.float32),
        ),
        SamplingMode(greedy_only=True, logit_bias=True, logprobs=True, num_logprobs=3),
    )
    raw = np.log(softmax(LOGITS))
    assert np.all(np.asarray(out.tokens) == 5)
    np.testing.assert_allclose(np.asarray(out.logprobs), raw[5], rtol=1e-5)
    assert np.all(np.asarray(out.ranks) == 6)
    np.testing.assert_array_equal(np.asarray(out.top_ids)[0], [0, 1, 2])
    np.testing.assert_allclose(np.asarray(out.top_logprobs)[0], raw[:3], rtol=1e-5)


def test_draws_do_not_depend_on_the_candidate_cap():
    """A row without filters draws the same token whether or not the step keeps candidates."""
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((64, V)).astype(np.float32)
    sb = batch(64, steps=np.arange(64, dtype=np.int32))
    plain = np.asarray(sample_jit(logits, sb, SAMPLED).tokens)
    for candidates in (V, 4):
        capped = sample_jit(logits, sb, SamplingMode(False, candidates=candidates)).tokens
        if candidates == V:
            np.testing.assert_array_equal(np.asarray(capped), plain)
        else:  # only draws that landed in the top 4 can agree
            top4 = np.argsort(-logits, axis=-1)[:, :4]
            inside = (top4 == plain[:, None]).any(-1)
            np.testing.assert_array_equal(np.asarray(capped)[inside], plain[inside])


@pytest.mark.parametrize("vocab", [64, 100, 1000, 1537, 32000, 49152, 151936])
def test_blocked_argmax_is_the_first_index_of_the_max(vocab):
    rng = np.random.default_rng(vocab)
    x = rng.standard_normal((6, vocab)).astype(np.float32)
    x[1] = np.round(x[1])  # ties between blocks and within one
    x[2] = -np.inf
    x[2, -1] = 3.0  # the max in the last position
    x[3, [7, vocab - 1]] = np.inf  # two infinite maxima: the first wins
    x[4] = 0.0  # all tied: index 0
    x[5, vocab // 2 :] = x[5].max() + 1  # the second half ties above the first
    got = np.asarray(jax.jit(argmax)(x))
    np.testing.assert_array_equal(got, np.argmax(x, axis=-1))


def test_a_plain_greedy_step_needs_no_sampling_rows():
    mode = SamplingMode()
    assert not mode.uses_sampling_rows
    assert SamplingMode(penalties=True).uses_sampling_rows
    assert SamplingMode(greedy_only=False).uses_sampling_rows
    logits = np.tile(LOGITS[::-1], (3, 1))
    out = sample_jit(logits, None, mode=mode)
    np.testing.assert_array_equal(out.tokens, [V - 1] * 3)


def test_a_token_mask_renormalizes_over_the_allowed_tokens():
    allowed = np.array([0, 1, 0, 1, 1, 0, 0, 1], bool)
    words = np.array([int(sum(1 << i for i in np.nonzero(allowed)[0]))], np.int32)
    expected = softmax(LOGITS) * allowed
    mode = SamplingMode(greedy_only=False, token_mask=True)
    assert_distribution(draw(mode, token_mask=words[None]), expected / expected.sum())
    greedy = sample_jit(
        np.tile(LOGITS, (2, 1)),
        batch(2, temperature=0.0, token_mask=words[None]),
        SamplingMode(token_mask=True),
    )
    assert list(np.asarray(greedy.tokens)) == [1, 1]  # the best allowed token, not token 0
