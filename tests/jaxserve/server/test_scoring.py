"""Scoring a text over HTTP: `echo` with `logprobs` (the legacy completions API, as
lm-evaluation-harness's log-likelihood requests use it) and vLLM's `prompt_logprobs`, checked
against Hugging Face's log-softmax on the same float32 checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.jaxserve.server.conftest import MODEL_NAME

pytestmark = pytest.mark.cpu

PROMPT_IDS = [5, 17, 3, 99, 42, 8, 61, 7, 250, 13]


@pytest.fixture(scope="module")
def hf_logprobs(live) -> np.ndarray:
    """f64[len(PROMPT_IDS), V]: Hugging Face's log-probabilities after each prompt prefix."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(
        live.llm.model, torch_dtype=torch.float32
    )
    with torch.no_grad():
        logits = model(torch.tensor([PROMPT_IDS])).logits[0].double()
    return torch.log_softmax(logits, dim=-1).numpy()


def _lm_eval_request(client, **extra):
    """The body lm-evaluation-harness's `local-completions` sends for a log-likelihood."""
    return client.completions.create(
        model=MODEL_NAME,
        prompt=PROMPT_IDS,
        max_tokens=1,
        temperature=0,
        logprobs=1,
        echo=True,
        seed=1234,
        **extra,
    )


def test_echo_with_logprobs_scores_the_prompt(live, hf_logprobs):
    out = _lm_eval_request(live.client())
    (choice,) = out.choices
    lp = choice.logprobs
    n = len(PROMPT_IDS)
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == n + 1
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    want = [hf_logprobs[i - 1, PROMPT_IDS[i]] for i in range(1, n)]
    np.testing.assert_allclose(lp.token_logprobs[1:n], want, rtol=1e-4, atol=1e-4)
    # The one generated token is greedy: the top of its alternatives, and HF's argmax.
    assert lp.token_logprobs[n] == pytest.approx(max(lp.top_logprobs[n].values()))
    assert lp.token_logprobs[n] == pytest.approx(hf_logprobs[n - 1].max(), abs=1e-4)
    # Each prompt position lists its own token and the one most likely (they may coincide).
    for i in range(1, n):
        assert 1 <= len(lp.top_logprobs[i]) <= 2
        assert max(lp.top_logprobs[i].values()) == pytest.approx(hf_logprobs[i - 1].max(), abs=1e-4)
    echo = live.llm.tokenizer.decode(PROMPT_IDS)
    assert choice.text.startswith(echo) and len(choice.text) > len(echo)
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    assert lp.text_offset[n] == len(echo)
    assert out.usage.prompt_tokens == n and out.usage.completion_tokens == 1
    live.wait_idle()


def test_streaming_echo_carries_the_same_logprobs(live):
    client = live.client()
    whole = _lm_eval_request(client).choices[0]
    chunks = list(
        client.completions.create(
            model=MODEL_NAME,
            prompt=PROMPT_IDS,
            max_tokens=3,
            temperature=0,
            logprobs=1,
            echo=True,
            stream=True,
            extra_body={"ignore_eos": True},
        )
    )
    tokens, logprobs = [], []
    for chunk in chunks:
        for c in chunk.choices:
            if c.logprobs is not None:
                tokens += c.logprobs.tokens
                logprobs += c.logprobs.token_logprobs
    n = len(PROMPT_IDS)
    assert len(tokens) == n + 3
    assert tokens[: n + 1] == whole.logprobs.tokens
    np.testing.assert_allclose(
        logprobs[1 : n + 1], whole.logprobs.token_logprobs[1:], rtol=1e-6, atol=1e-6
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices).startswith(
        live.llm.tokenizer.decode(PROMPT_IDS)
    )
    live.wait_idle()


def _prompt_entries(entries):
    """vLLM's `prompt_logprobs` list -> [None, {token id: logprob}, ...]."""
    return [None if e is None else {int(t): v["logprob"] for t, v in e.items()} for e in entries]


def test_prompt_logprobs_for_completions_and_chat(live, hf_logprobs):
    with live.http() as http:
        _check_prompt_logprobs(http, hf_logprobs)
    live.wait_idle()


def _check_prompt_logprobs(http, hf_logprobs):
    body = {"model": MODEL_NAME, "prompt": PROMPT_IDS, "max_tokens": 1, "prompt_logprobs": 3}
    completion = http.post("/v1/completions", json=body).json()
    entries = completion["choices"][0]["prompt_logprobs"]
    assert completion["choices"][0]["logprobs"] is None  # only what was asked
    assert len(entries) == len(PROMPT_IDS) and entries[0] is None
    for i, entry in enumerate(entries[1:], start=1):
        ranks = [v["rank"] for v in entry.values()]
        assert 3 <= len(entry) <= 4 and sorted(ranks)[:3] == [1, 2, 3]
        got = _prompt_entries([entry])[0]
        assert got[PROMPT_IDS[i]] == pytest.approx(hf_logprobs[i - 1, PROMPT_IDS[i]], abs=1e-4)
        top3 = np.sort(hf_logprobs[i - 1])[::-1][:3]
        ranked = sorted(entry.values(), key=lambda v: v["rank"])[:3]
        np.testing.assert_allclose([v["logprob"] for v in ranked], top3, atol=1e-4)
        assert all(isinstance(v["decoded_token"], str) for v in entry.values())

    chat = {
        "model": MODEL_NAME,
        "messages": [{"role": "user", "content": "score me"}],
        "max_tokens": 2,
        "prompt_logprobs": 1,
    }
    answer = http.post("/v1/chat/completions", json=chat).json()
    entries = answer["prompt_logprobs"]
    assert entries[0] is None and len(entries) == answer["usage"]["prompt_tokens"]
    assert all(1 <= len(e) <= 2 for e in entries[1:])
    streamed = [
        line.removeprefix("data: ")
        for line in http.post("/v1/chat/completions", json={**chat, "stream": True}).text.split(
            "\n\n"
        )
        if line.startswith("data: {")
    ]
    carrying = [json.loads(s) for s in streamed if '"prompt_logprobs"' in s]
    assert len(carrying) == 1, "sent once, with the first content chunk"
    assert _prompt_entries(carrying[0]["prompt_logprobs"]) == _prompt_entries(entries)


def test_prompt_logprobs_out_of_range_is_a_400(live):
    body = {"model": MODEL_NAME, "prompt": "x", "prompt_logprobs": 21}
    with live.http() as http:
        response = http.post("/v1/completions", json=body)
    assert response.status_code == 400
    assert "prompt_logprobs" in response.json()["error"]["message"]
