"""Request bodies → sampling parameters, without a server."""

from __future__ import annotations

import dataclasses

import pytest

from jaxserve.sampling_params import BOUNDS, SamplingParams
from jaxserve.server.errors import BadRequest
from jaxserve.server.protocol import (
    IGNORED,
    SERVER_BOUNDS,
    ChatRequest,
    CompletionRequest,
    expand,
    parse_chat,
    parse_completion,
)
from jaxserve.server.served import ServedLimits

VOCAB = 320
LIMITS = ServedLimits("tiny", VOCAB, 64)


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
        limits=LIMITS,
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
        limits=LIMITS,
    )
    assert parsed.messages == [{"role": "user", "content": "hi"}]
    assert parsed.params.max_tokens == 5, "max_completion_tokens wins"
    assert parsed.params.logprobs == 4
    default = parse_chat({"messages": [{"role": "user", "content": "hi"}]}, limits=LIMITS)
    assert default.params.max_tokens is None and default.params.logprobs is None
    assert parse_completion({"prompt": "x"}, limits=LIMITS).params.max_tokens == 16


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"prompt": []}, "prompt: must not be empty", "prompt"),
        ({"prompt": [1, "a"]}, "prompt: must be a string, a list of strings", "prompt"),
        ({"prompt": "x", "max_tokens": True}, "max_tokens: must be an integer", "max_tokens"),
        ({"prompt": "x", "temperature": "hot"}, "temperature: must be a number", "temperature"),
        ({"prompt": "x", "temperature": -1}, r"temperature: must be >= 0 .*got -1", "temperature"),
        ({"prompt": "x", "logprobs": 21}, r"logprobs: must be in \[0, 20\], got 21", "logprobs"),
        (
            {"prompt": "x", "logit_bias": {"a": 1}},
            r"logit_bias: keys must be token ids in \[0, 320\), got 'a'",
            "logit_bias",
        ),
        ({"prompt": "x", "logit_bias": {"01": 1}}, "keys must be token ids", "logit_bias"),
        ({"prompt": "x", "logit_bias": {"1": 200}}, r"must be in \[-100, 100\]", "logit_bias"),
        ({"prompt": "x", "stop_token_ids": [400]}, "outside the vocabulary", "stop_token_ids"),
        ({"prompt": [[1], [2, 999]]}, r"prompt\[1\]\[1\]: token id 999 is outside", "prompt"),
        ({"prompt": [5] * 64}, "the prompt has 64 tokens, but max_model_len is 64", "prompt"),
        ({"prompt": "x", "max_tokens": 65}, r"must be <= max_model_len \(64\)", "max_tokens"),
        ({"prompt": "x", "n": 129}, r"n: must be in \[1, 128\]", "n"),
        ({"prompt": "x", "seed": -1}, r"seed: must be in \[0, 4294967295\]", "seed"),
        ({"prompt": "x", "stop": ""}, "stop: must not be empty", "stop"),
        ({"prompt": "x", "stream_options": {}}, "stream_options needs stream=true", None),
        ({"prompt": "x", "suffix": "y"}, "suffix is not supported", "suffix"),
        (
            {"prompt": "x", "prompt_logprobs": -1},
            r"prompt_logprobs: must be in \[0, 20\], got -1",
            "prompt_logprobs",
        ),
        ({"prompt": "x", "best_of": 3}, r"best_of: must be 1 \(n gives several samples\)", None),
        ({"prompt": "x", "top_p": 0}, r"top_p: must be in \(0, 1\], got 0", "top_p"),
        ({"prompt": "x", "bogus": 1}, r"unknown field\(s\) \['bogus'\]", "bogus"),
        ({"prompt": "x", "model": 3}, "model: must be a string", "model"),
    ],
)
def test_bad_completion_bodies(body, message, param):
    with pytest.raises(BadRequest, match=message) as e:
        parse_completion(body, limits=LIMITS)
    if param is not None:
        assert e.value.param == param
    assert e.value.status == 400


IMAGE_PART = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "messages: must not be empty"),
        ({"messages": [{"content": "x"}]}, r"messages\[0\].role: required"),
        (
            {"messages": [{"role": "robot", "content": "x"}]},
            r"messages\[0\].role: must be 'system'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            r"messages\[0\].content\[0\].image_url: required",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "audio", "audio": "x"}]}]},
            r"messages\[0\].content\[0\]: a content part's type must be 'text' or 'image_url'",
        ),
        (
            {"messages": [{"role": "user", "content": [IMAGE_PART]}]},
            r"messages\[0\].content\[0\]: the model 'tiny' takes no images",
        ),
        (
            {"messages": [{"role": "user", "content": 3}]},
            r"messages\[0\].content: must be a string or a list of text and image_url parts, got 3",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2},
            "top_logprobs needs logprobs=true",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
            r"tools\[0\].function: required",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "xml"},
            },
            "response_format type 'xml' is not supported; use text, json_object or json_schema",
        ),
        ([1, 2], "the request body must be a JSON object"),
    ],
)
def test_bad_chat_bodies(body, message):
    with pytest.raises(BadRequest, match=message):
        parse_chat(body, limits=LIMITS)


def test_min_tokens_above_max_tokens_is_cut_to_it():
    parsed = parse_completion({"prompt": "x", "max_tokens": 3, "min_tokens": 9}, limits=LIMITS)
    assert (parsed.params.min_tokens, parsed.params.max_tokens) == (3, 3)


def test_ignored_openai_fields_are_accepted():
    body = {"prompt": "x", "user": "u", "store": False, "metadata": {"k": "v"}}
    body |= {"service_tier": "auto"}
    assert parse_completion(body, limits=LIMITS).params == SamplingParams()
    assert set(CompletionRequest.model_fields) & set(ChatRequest.model_fields) >= IGNORED


def test_echo_with_logprobs_asks_for_the_prompts_logprobs():
    """The legacy API's way to score a text (lm-evaluation-harness's log-likelihood)."""
    scored = parse_completion({"prompt": "x", "echo": True, "logprobs": 2}, limits=LIMITS)
    assert scored.echo and scored.params.prompt_logprobs == 2 and scored.prompt_logprobs is None
    both = {"prompt": "x", "echo": True, "logprobs": 1, "prompt_logprobs": 5}
    assert parse_completion(both, limits=LIMITS).params.prompt_logprobs == 5
    plain = parse_completion({"prompt": "x", "logprobs": 2}, limits=LIMITS)
    assert plain.params.prompt_logprobs is None


def test_priority_is_bounded_by_the_servers_policy():
    with pytest.raises(BadRequest, match="priority: must be 0 on this server"):
        parse_completion({"prompt": "x", "priority": 2}, limits=LIMITS)
    by_priority = dataclasses.replace(LIMITS, priority_scheduling=True)
    assert parse_completion({"prompt": "x", "priority": -5}, limits=by_priority).priority == -5


def test_bad_words_must_hold_a_word():
    with pytest.raises(BadRequest, match="bad_words"):
        parse_completion({"prompt": "x", "bad_words": [" "]}, limits=LIMITS)
    parsed = parse_completion({"prompt": "x", "bad_words": ["no"]}, limits=LIMITS)
    assert parsed.params.bad_words == ["no"]


def test_seeds_of_n_samples_stay_uint32():
    params = parse_completion({"prompt": "x", "n": 2, "seed": 2**32 - 1}, limits=LIMITS).params
    assert [p.seed for p in expand(params)] == [2**32 - 1, 0]


def test_schema_ranges_are_the_sampling_params_ranges():
    """One table of bounds: every range `SamplingParams` checks is in the requests' schema."""
    properties = CompletionRequest.model_json_schema()["properties"]
    keys = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}
    for name, bound in BOUNDS.items():
        assert name in properties, name
        expected = dict(SERVER_BOUNDS[name].__dict__)
        [declared] = [s for s in properties[name]["anyOf"] if s.get("type") != "null"]
        found = {end: declared.get(word) for end, word in keys.items()}
        assert found == {end: expected[end] for end in keys}, name
        for end in keys:  # the server's range lies within the offline one
            if getattr(bound, end) is not None:
                assert expected[end] is not None, (name, end)
        outside = _outside(bound)
        if outside is not None and name not in ("logprobs", "max_tokens", "min_tokens"):
            with pytest.raises(ValueError, match=name):
                SamplingParams(**{name: outside})
            with pytest.raises(BadRequest, match=f"{name}: must be"):
                parse_completion({"prompt": "x", name: outside}, limits=LIMITS)


def _outside(bound) -> float | None:
    if bound.ge is not None:
        return bound.ge - 1
    if bound.gt is not None:
        return bound.gt
    return None


def test_image_parts_where_the_model_takes_images():
    limits = dataclasses.replace(LIMITS, images=True)
    body = {
        "messages": [
            {"role": "user", "content": [IMAGE_PART, {"type": "text", "text": "what is it"}]},
            {"role": "assistant", "content": "a cat"},
            {"role": "user", "content": [{"type": "text", "text": "and"}, IMAGE_PART]},
        ]
    }
    parsed = parse_chat(body, limits=limits)
    assert parsed.image_urls == [IMAGE_PART["image_url"]["url"]] * 2
    assert parsed.messages[0]["content"] == [
        {"type": "image"},
        {"type": "text", "text": "what is it"},
    ]
    assert parsed.messages[1]["content"] == "a cat"  # text alone stays a string
    detail = {"type": "image_url", "image_url": {"url": "data:,", "detail": "high"}}
    with pytest.raises(BadRequest, match=r"content\[0\].image_url.detail: must be 'auto'"):
        parse_chat({"messages": [{"role": "user", "content": [detail]}]}, limits=limits)
