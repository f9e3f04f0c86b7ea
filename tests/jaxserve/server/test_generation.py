"""Completions and chat through the official openai SDK against a live server."""

from __future__ import annotations

import pytest

from tests.jaxserve.server.conftest import MODEL_NAME

pytestmark = pytest.mark.cpu

PROMPT = "the quick brown fox"
CHAT = [{"role": "user", "content": "hello world"}]


def test_completion_matches_offline_greedy(live):
    client = live.client()
    out = client.completions.create(
        model=MODEL_NAME,
        prompt=PROMPT,
        max_tokens=8,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    tokenizer = live.llm.tokenizer
    assert out.object == "text_completion" and out.model == MODEL_NAME
    (choice,) = out.choices
    assert choice.finish_reason == "length" and choice.index == 0
    prompt_ids = tokenizer.encode(PROMPT)
    assert out.usage.prompt_tokens == len(prompt_ids)
    assert out.usage.completion_tokens == 8 and out.usage.total_tokens == len(prompt_ids) + 8
    again = client.completions.create(
        model=MODEL_NAME,
        prompt=prompt_ids,
        max_tokens=8,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    assert again.choices[0].text == choice.text, "text and token-id prompts agree"
    live.wait_idle()


def test_streaming_chat_sends_deltas_then_done(live):
    client = live.client()
    stream = client.chat.completions.create(
        model=MODEL_NAME,
        messages=CHAT,
        max_tokens=10,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "length" and set(finishes[:-1]) == {None}
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.completion_tokens == 10
    assert all(c.usage is None for c in chunks[:-1])
    whole = client.chat.completions.create(
        model=MODEL_NAME,
        messages=CHAT,
        max_tokens=10,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    assert whole.choices[0].message.content == text
    assert whole.choices[0].message.role == "assistant"
    prompt = live.llm.tokenizer.apply_chat_template(
        CHAT, tokenize=False, add_generation_prompt=True
    )
    assert usage.prompt_tokens == len(live.llm.tokenizer.encode(prompt, add_special_tokens=False))
    live.wait_idle()


@pytest.mark.parametrize("route", ["completions", "chat"])
def test_continuous_usage_stats_counts_in_every_chunk(live, route):
    body = dict(
        model=MODEL_NAME,
        max_tokens=6,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True, "continuous_usage_stats": True},
        extra_body={"ignore_eos": True},
    )
    client = live.client()
    if route == "chat":
        chunks = list(client.chat.completions.create(messages=CHAT, **body))
        content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    else:
        chunks = list(client.completions.create(prompt="hello", **body))
        content = [c for c in chunks if c.choices and c.choices[0].text]
    counts = [c.usage.completion_tokens for c in content]
    assert counts == sorted(counts) and counts[-1] == 6 and len(counts) >= 2
    assert all(c.usage.prompt_tokens == chunks[-1].usage.prompt_tokens for c in content)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 6
    live.wait_idle()


def test_n_choices_and_seeds(live):
    client = live.client()
    out = client.completions.create(
        model=MODEL_NAME, prompt=[PROMPT, "hello"], max_tokens=6, n=2, seed=7, temperature=1.0
    )
    assert sorted(c.index for c in out.choices) == list(range(4))
    again = client.completions.create(
        model=MODEL_NAME, prompt=[PROMPT, "hello"], max_tokens=6, n=2, seed=7, temperature=1.0
    )
    assert [c.text for c in out.choices] == [c.text for c in again.choices], "seeded"
    prompt_tokens = len(live.llm.tokenizer.encode(PROMPT)) + len(live.llm.tokenizer.encode("hello"))
    assert out.usage.prompt_tokens == prompt_tokens
    stream = client.chat.completions.create(
        model=MODEL_NAME, messages=CHAT, max_tokens=5, n=2, stream=True, temperature=0
    )
    ended = {c.choices[0].index for c in stream if c.choices and c.choices[0].finish_reason}
    assert ended == {0, 1}
    live.wait_idle()


def test_logprobs(live):
    client = live.client()
    chat = client.chat.completions.create(
        model=MODEL_NAME,
        messages=CHAT,
        max_tokens=4,
        temperature=0,
        logprobs=True,
        top_logprobs=2,
        extra_body={"ignore_eos": True},
    )
    content = chat.choices[0].logprobs.content
    assert len(content) == 4
    for item in content:
        assert len(item.top_logprobs) == 2
        assert item.top_logprobs[0].logprob >= item.top_logprobs[-1].logprob
        assert item.logprob == pytest.approx(item.top_logprobs[0].logprob), "greedy = top-1"
        assert item.bytes == list(item.token.encode())
    completion = client.completions.create(
        model=MODEL_NAME, prompt=PROMPT, max_tokens=3, temperature=0, logprobs=2
    )
    logprobs = completion.choices[0].logprobs
    assert len(logprobs.tokens) == len(logprobs.token_logprobs) == 3
    assert "".join(logprobs.tokens) == completion.choices[0].text
    assert all(len(top) >= 1 for top in logprobs.top_logprobs)  # keyed by text: may collide
    assert logprobs.text_offset[0] == 0
    live.wait_idle()


def test_sampling_options_reach_the_engine(live):
    client = live.client()
    free = client.completions.create(
        model=MODEL_NAME,
        prompt=PROMPT,
        max_tokens=8,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    forced = client.completions.create(
        model=MODEL_NAME,
        prompt=PROMPT,
        max_tokens=4,
        temperature=0,
        logit_bias={"100": 100},
        extra_body={"ignore_eos": True},
    )
    assert forced.choices[0].text == live.llm.tokenizer.decode([100] * 4)
    stop = free.choices[0].text[3:5]
    stopped = client.completions.create(
        model=MODEL_NAME,
        prompt=PROMPT,
        max_tokens=8,
        temperature=0,
        stop=[stop],
        extra_body={"ignore_eos": True},
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].text == free.choices[0].text[: free.choices[0].text.index(stop)]
    live.wait_idle()
