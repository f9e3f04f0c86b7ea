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
        ({"n": 0}, "n must be at least 1"),
        ({"temperature": -0.5}, "temperature must be non-negative"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"top_k": -2}, "top_k must be"),
        ({"min_p": 1.5}, "min_p must be in"),
        ({"presence_penalty": 3}, "presence_penalty must be in"),
        ({"frequency_penalty": -3}, "frequency_penalty must be in"),
        ({"repetition_penalty": 0}, "repetition_penalty must be positive"),
        ({"max_tokens": 0}, "max_tokens must be at least 1"),
        ({"min_tokens": -1}, "min_tokens must be non-negative"),
        ({"min_tokens": 5, "max_tokens": 3}, "must not exceed max_tokens"),
        ({"logprobs": -2}, "logprobs must be"),
        ({"stop": ["ok", ""]}, "stop strings must not be empty"),
    ],
)
def test_invalid_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingParams(**kwargs)
