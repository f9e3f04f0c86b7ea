"""vLLM's per-request extras over HTTP: `cache_salt` keeps prefix-cache pages apart,
`priority` needs the priority policy (a 400 naming it otherwise)."""

from __future__ import annotations

import openai
import pytest

from tests.jaxserve.server.conftest import MODEL_NAME

pytestmark = pytest.mark.cpu

LONG_PROMPT = list(range(3, 43))  # 40 tokens: two whole 16-token pages to share


def _cached(client, salt: str | None) -> int:
    extra = {"ignore_eos": True} | ({"cache_salt": salt} if salt else {})
    out = client.completions.create(
        model=MODEL_NAME, prompt=LONG_PROMPT, max_tokens=2, temperature=0, extra_body=extra
    )
    return out.usage.prompt_tokens_details.cached_tokens


def test_cache_salt_shares_pages_only_within_a_salt(live):
    client = live.client()
    _cached(client, "tenant-a")
    assert _cached(client, "tenant-a") >= 16
    assert _cached(client, "tenant-b") == 0
    assert _cached(client, None) == 0
    live.wait_idle()


def test_priority_needs_the_priority_policy(live):
    client = live.client()
    with pytest.raises(openai.BadRequestError, match="priority: must be 0 on this server"):
        client.completions.create(
            model=MODEL_NAME, prompt="x", max_tokens=1, extra_body={"priority": 3}
        )
    # 0 is every request's priority under first come, first served: taken.
    client.completions.create(
        model=MODEL_NAME, prompt="x", max_tokens=1, extra_body={"priority": 0}
    )
    live.wait_idle()


def test_truncate_prompt_tokens_keeps_the_prompts_end(live):
    client = live.client()
    text = " ".join(["alpha beta gamma"] * 20)  # far more than 64 tokens
    ids = live.llm.tokenizer.encode(text)
    assert len(ids) > 64
    out = client.completions.create(
        model=MODEL_NAME,
        prompt=text,
        max_tokens=2,
        temperature=0,
        echo=True,
        extra_body={"truncate_prompt_tokens": 10, "ignore_eos": True},
    )
    assert out.usage.prompt_tokens == 10
    assert out.choices[0].text.startswith(live.llm.tokenizer.decode(ids[-10:]))
    fit = client.completions.create(
        model=MODEL_NAME, prompt=text, max_tokens=1, extra_body={"truncate_prompt_tokens": -1}
    )
    assert fit.usage.prompt_tokens == 63  # max_model_len 64, one token left to generate
    with pytest.raises(openai.BadRequestError, match="truncate_prompt_tokens: must be >= 1, got 0"):
        client.completions.create(
            model=MODEL_NAME, prompt="x", extra_body={"truncate_prompt_tokens": 0}
        )
    live.wait_idle()
