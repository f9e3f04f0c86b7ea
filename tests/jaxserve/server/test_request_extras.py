"""vLLM's per-request extras over HTTP: `cache_salt` keeps prefix-cache pages apart,
`priority` needs the priority policy (a 400 naming it otherwise)."""

from __future__ import annotations

import openai
import pytest

from jaxserve.server.reasoning import PARSERS, ReasoningSplitter, split_reasoning
from tests.jaxserve.server.conftest import MODEL_NAME, start_server

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


# A template that shows what it was given: each message, the thinking switch, the open end.
PROBE = (
    "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
    "{% if enable_thinking is defined and not enable_thinking %}<no-think>{% endif %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


def _rendered(http, **options) -> str:
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], **options}
    response = http.post("/tokenize", json=body)
    assert response.status_code == 200, response.text
    return http.post("/detokenize", json={"tokens": response.json()["tokens"]}).json()["prompt"]


def test_chat_template_options(live):
    with live.http() as http:
        assert _rendered(http, chat_template=PROBE) == "<user>hi<assistant>"
        off = {"enable_thinking": False}
        assert _rendered(http, chat_template=PROBE, chat_template_kwargs=off) == (
            "<user>hi<no-think><assistant>"
        )
        assert _rendered(http, chat_template=PROBE, add_generation_prompt=False) == "<user>hi"
        body = {
            "model": MODEL_NAME,
            "messages": [{"role": "user", "content": "x"}],
            "continue_final_message": True,
            "add_generation_prompt": True,
        }
        refused = http.post("/tokenize", json=body)
        assert refused.status_code == 400 and "continue_final_message" in refused.text
        clash = {**body, "continue_final_message": False, "chat_template_kwargs": {"tokenize": 1}}
        refused = http.post("/tokenize", json=clash)
        assert refused.status_code == 400 and "chat_template_kwargs" in refused.text
    client = live.client()
    out = client.chat.completions.create(
        model=MODEL_NAME,
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=2,
        extra_body={"chat_template": PROBE, "chat_template_kwargs": off},
    )
    probe_ids = live.llm.tokenizer.encode("<user>hi<no-think><assistant>", add_special_tokens=False)
    assert out.usage.prompt_tokens == len(probe_ids)
    live.wait_idle()


def test_continue_final_message_leaves_the_reply_open(live):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hel"}]
    body = {"model": MODEL_NAME, "messages": messages}
    with live.http() as http:
        closed = http.post("/tokenize", json={**body, "add_generation_prompt": False}).json()
        open_ = http.post("/tokenize", json={**body, "continue_final_message": True}).json()
        text = http.post("/detokenize", json={"tokens": open_["tokens"]}).json()["prompt"]
    assert text.rstrip().endswith("Hel")  # no end-of-turn after the partial reply
    assert open_["count"] < closed["count"]


def test_reasoning_splitter_streams_without_tag_fragments():
    fmt = PARSERS["qwen3"]
    reply = "<think>\nweigh it</think>\n\nFour."
    assert split_reasoning(fmt, reply) == ("weigh it", "Four.")
    assert split_reasoning(fmt, "<think>\n\n</think>\n\nFour.") == (None, "Four.")  # thinking off
    assert split_reasoning(fmt, "Four.") == (None, "Four.")
    r1 = PARSERS["deepseek_r1"]  # the prompt opened <think>: the reply starts inside it
    assert split_reasoning(r1, "weigh it</think>Four.") == ("weigh it", "Four.")
    assert split_reasoning(r1, "cut off while thinking") == ("cut off while thinking", "")
    for size in range(1, len(reply) + 1):  # every way of cutting the reply into deltas
        splitter = ReasoningSplitter(fmt)
        parts = [splitter.feed(reply[i : i + size]) for i in range(0, len(reply), size)]
        parts.append(splitter.finish())
        reasoning = "".join(r for r, _ in parts)
        content = "".join(c for _, c in parts)
        assert (reasoning.rstrip(), content) == ("weigh it", "Four."), size
        assert all("<" not in r + c for r, c in parts), size


def test_reasoning_content_over_http(server_llm):
    """A served model whose replies are forced to think: greedy with a template that opens
    <think>, and the r1 parser; the reply's text comes apart, streamed and whole."""
    live = start_server(server_llm, reasoning_parser="deepseek_r1")
    try:
        client = live.client()
        messages = [{"role": "user", "content": "hi"}]
        whole = client.chat.completions.create(
            model=MODEL_NAME, messages=messages, max_tokens=8, temperature=0,
            extra_body={"ignore_eos": True},
        )  # fmt: skip
        message = whole.choices[0].message
        text = message.model_extra["reasoning_content"]
        assert text and message.content == ""  # no </think> in 8 random tokens: all thinking
        chunks = list(
            client.chat.completions.create(
                model=MODEL_NAME, messages=messages, max_tokens=8, temperature=0, stream=True,
                extra_body={"ignore_eos": True},
            )
        )  # fmt: skip
        streamed = "".join(
            (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
            for c in chunks
            if c.choices
        )
        assert streamed.rstrip() == text
        assert not any(c.choices and c.choices[0].delta.content for c in chunks)
    finally:
        live.stop()
