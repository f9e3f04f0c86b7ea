"""Request bodies → sampling parameters, without a server."""

from __future__ import annotations

import pytest

from jaxserve.server.errors import BadRequest
from jaxserve.server.protocol import expand, parse_chat, parse_completion

VOCAB = 320


def test_completion_fields_map_to_sampling_params():
    parsed = parse_completion(
        {
            "prompt": ["a", "b"],
            "max_tokens": 7,
            "temperature": 0,
            "top_p": 0.5,
            "n": 2,
            "stop": "x",
            "seed": 3,
            "logprobs": 2,
            "logit_bias": {"5": -100},
            "presence_penalty": 0.5,
            "top_k": 4,
            "min_p": 0.1,
            "repetition_penalty": 1.2,
            "min_tokens": 1,
            "ignore_eos": True,
            "stop_token_ids": [2],
            "stream": True,
            "stream_options": {"include_usage": True},
            "user": "ignored",
        },
        vocab_size=VOCAB,
    )
    p = parsed.params
    assert parsed.prompts == ["a", "b"] and parsed.stream and parsed.include_usage
    assert (p.max_tokens, p.temperature, p.top_p, p.n, p.stop, p.seed) == (7, 0.0, 0.5, 2, ["x"], 3)
    assert (p.logprobs, p.logit_bias, p.top_k, p.min_p) == (2, {5: -100.0}, 4, 0.1)
    assert (p.repetition_penalty, p.min_tokens, p.ignore_eos, p.stop_token_ids) == (
        1.2,
        1,
        True,
        [2],
    )
    assert [q.seed for q in expand(p)] == [3, 4] and all(q.n == 1 for q in expand(p))


def test_chat_fields():
    parsed = parse_chat(
        {
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": 3,
            "max_completion_tokens": 5,
            "logprobs": True,
            "top_logprobs": 4,
        },
        vocab_size=VOCAB,
    )
    assert parsed.messages == [{"role": "user", "content": "hi"}]
    assert parsed.params.max_tokens == 5, "max_completion_tokens wins"
    assert parsed.params.logprobs == 4
    default = parse_chat({"messages": [{"role": "user", "content": "hi"}]}, vocab_size=VOCAB)
    assert default.params.max_tokens is None and default.params.logprobs is None
    assert parse_completion({"prompt": "x"}, vocab_size=VOCAB).params.max_tokens == 16


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"prompt": []}, "prompt must be a string", "prompt"),
        ({"prompt": [1, "a"]}, "prompt must be a string", "prompt"),
        ({"prompt": "x", "max_tokens": True}, "max_tokens must be an integer", "max_tokens"),
        ({"prompt": "x", "temperature": "hot"}, "temperature must be", "temperature"),
        ({"prompt": "x", "logprobs": 21}, r"logprobs must be in \[0, 20\]", "logprobs"),
        (
            {"prompt": "x", "logit_bias": {"a": 1}},
            "logit_bias keys must be token ids",
            "logit_bias",
        ),
        ({"prompt": "x", "logit_bias": {"1": 200}}, r"values must be numbers in", "logit_bias"),
        ({"prompt": "x", "stop_token_ids": [400]}, "outside the vocabulary", "stop_token_ids"),
        ({"prompt": "x", "stream_options": {}}, "stream_options needs stream=true", None),
        ({"prompt": "x", "suffix": "y"}, "suffix is not supported", "suffix"),
        ({"prompt": "x", "echo": True, "logprobs": 1}, "echo together with logprobs", "echo"),
        ({"prompt": "x", "best_of": 3}, "best_of other than n", "best_of"),
        ({"prompt": "x", "top_p": 0}, r"top_p must be in \(0, 1\]", None),
        ({"prompt": "x", "bogus": 1}, r"unknown field\(s\) \['bogus'\]", "bogus"),
    ],
)
def test_bad_completion_bodies(body, message, param):
    with pytest.raises(BadRequest, match=message) as e:
        parse_completion(body, vocab_size=VOCAB)
    if param is not None:
        assert e.value.param == param
    assert e.value.status == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "messages must be a non-empty list"),
        ({"messages": [{"content": "x"}]}, "must be an object with a string 'role'"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "only 'text' is supported",
        ),
        ({"messages": [{"role": "user", "content": 3}]}, "content must be a string"),
        (
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
            "tools are not supported",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_object"},
            },
            "response_format 'json_object' is not supported",
        ),
        ([1, 2], "the request body must be a JSON object"),
    ],
)
def test_bad_chat_bodies(body, message):
    with pytest.raises(BadRequest, match=message):
        parse_chat(body, vocab_size=VOCAB)
