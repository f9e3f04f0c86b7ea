"""`SamplingParams` validation and normalisation."""

from __future__ import annotations

import pytest

from jaxserve import SamplingParams


def test_defaults_follow_vllm():
    params = SamplingParams()
    assert (params.n, params.temperature, params.top_p, params.top_k) == (1, 1.0, 1.0, 0)
    assert params.max_tokens == 16 and params.stop == [] and params.stop_token_ids == []
    assert not params.greedy and SamplingParams(temperature=0).greedy


def test_single_stop_string_becomes_a_list():
    assert SamplingParams(stop="###").stop == ["###"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, r"n must be >= 1, got 0"),
        ({"temperature": -0.5}, r"temperature must be >= 0 \(0: greedy\), got -0.5"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"top_k": -2}, r"top_k must be in \[-1, 2147483647\] \(-1 or 0: off\)"),
        ({"seed": -1}, r"seed must be in \[0, 4294967295\]"),
        ({"min_p": 1.5}, "min_p must be in"),
        ({"presence_penalty": 3}, "presence_penalty must be in"),
        ({"frequency_penalty": -3}, "frequency_penalty must be in"),
        ({"repetition_penalty": 0}, r"repetition_penalty must be > 0, got 0"),
        ({"max_tokens": 0}, r"max_tokens must be >= 1, got 0"),
        ({"min_tokens": -1}, r"min_tokens must be >= 0, got -1"),
        ({"min_tokens": 5, "max_tokens": 3}, "must not exceed max_tokens"),
        ({"logprobs": -2}, r"logprobs must be >= -1 \(-1: the whole vocabulary\), got -2"),
        ({"stop": ["ok", ""]}, "stop strings must not be empty"),
    ],
)
def test_invalid_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingParams(**kwargs)


def test_samples_are_one_sequence_each_with_seeds_that_wrap():
    params = SamplingParams(n=3, seed=2**32 - 2, temperature=0.5)
    samples = params.samples()
    assert [s.seed for s in samples] == [2**32 - 2, 2**32 - 1, 0]
    assert all(s.n == 1 and s.temperature == 0.5 for s in samples)
    assert [s.seed for s in SamplingParams(n=2).samples()] == [None, None]
    single = SamplingParams(seed=5)
    assert single.samples() == [single]
