"""Host-side sampling arrays and the static mode chosen for a step."""

from __future__ import annotations

import numpy as np

from jaxserve.engine.request import Request
from jaxserve.engine.sampling_rows import banned_tokens, pack_sampling
from jaxserve.sampling_params import SamplingParams

V = 100


def request(output=(), **kwargs) -> Request:
    params = SamplingParams(**kwargs)
    r = Request("r", [1, 2, 3], params, 10, frozenset({2}))
    r.output_token_ids = list(output)
    return r


def mode_of(*requests):
    return pack_sampling(requests, 4, V, [7] * len(requests))[1]


def test_greedy_batch_compiles_the_plain_path():
    mode = mode_of(request(temperature=0), request(temperature=0))
    assert mode.greedy_only and not mode.penalties and not mode.logit_bias
    assert mode.candidates == 0 and mode.num_logprobs == 0


def test_candidates_follow_the_filters():
    assert mode_of(request(temperature=1.0)).candidates == 0
    assert mode_of(request(top_k=5), request(top_k=40)).candidates == 64
    assert mode_of(request(top_k=5), request(top_p=0.9)).candidates == V
    assert mode_of(request(min_p=0.1)).candidates == V
    assert mode_of(request(top_k=5, top_p=0.9)).candidates == 16


def test_logprobs_width():
    assert not mode_of(request()).logprobs
    assert mode_of(request(logprobs=0)).logprobs
    assert mode_of(request(logprobs=3), request(logprobs=5)).num_logprobs == 5
    assert mode_of(request(logprobs=-1)).num_logprobs == V


def test_arrays_and_padding_rows():
    arrays, mode = pack_sampling(
        [request(temperature=0.5, top_k=-1, seed=3, output=[4, 5], frequency_penalty=0.5)],
        4,
        V,
        [3],
    )
    assert mode.penalties
    np.testing.assert_allclose(arrays["temperature"], [0.5, 0, 0, 0])
    np.testing.assert_array_equal(arrays["top_k"], [0, 0, 0, 0])
    np.testing.assert_array_equal(arrays["steps"], [2, 0, 0, 0])
    np.testing.assert_array_equal(arrays["seeds"], [3, 0, 0, 0])
    assert arrays["output_ids"].shape == (4, 16)
    np.testing.assert_array_equal(arrays["output_ids"][0, :3], [4, 5, V])
    np.testing.assert_array_equal(arrays["prompt_ids"][0, :4], [1, 2, 3, V])


def test_min_tokens_bans_eos_and_stop_tokens_until_reached():
    early = request(min_tokens=3, stop_token_ids=[9], output=[5])
    assert banned_tokens(early) == [2, 9]
    assert banned_tokens(request(min_tokens=3, ignore_eos=True, output=[5])) == []
    assert banned_tokens(request(min_tokens=1, output=[5])) == []
    arrays, mode = pack_sampling([early], 4, V, [0])
    assert mode.logit_bias
    np.testing.assert_array_equal(arrays["bias_ids"][0, :2], [2, 9])
    assert np.all(np.isneginf(arrays["bias_values"][0, :2]))


def test_bad_words_bar_the_token_that_would_complete_them():
    def barred(output):
        r = request(output=output)
        r.bad_word_ids = [[5, 6, 7], [9]]  # a three-token word and a one-token word
        return banned_tokens(r)

    assert barred([]) == [9]
    assert barred([1, 5]) == [9]
    assert barred([1, 5, 6]) == [7, 9]  # one more token would complete [5, 6, 7]
    assert barred([5, 6, 1]) == [9]
    _, mode = pack_sampling([request(output=[5, 6])], 4, V, [0])
    assert not mode.logit_bias  # no bad words on this request: nothing barred


def test_logit_bias_rows():
    arrays, mode = pack_sampling([request(logit_bias={7: 1.5, 8: -2.0})], 4, V, [0])
    assert mode.logit_bias
    np.testing.assert_array_equal(arrays["bias_ids"][0, :2], [7, 8])
    np.testing.assert_allclose(arrays["bias_values"][0, :2], [1.5, -2.0])
