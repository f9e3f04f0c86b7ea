"""Clients that leave mid-stream abort their requests and give every page back."""

from __future__ import annotations

import asyncio
import random

import openai
import pytest

from tests.jaxserve.server.conftest import API_KEY, MODEL_NAME

pytestmark = pytest.mark.cpu

PROMPTS = ["the quick brown fox", "hello world", "paged attention", "jax serves"]


def aborted_count(live) -> float:
    with live.http() as http:
        text = http.get("/metrics").text
    key = f'jaxserve:request_success_total{{model_name="{MODEL_NAME}",finished_reason="abort"}}'
    (line,) = [line for line in text.splitlines() if line.startswith(key)]
    return float(line.rsplit(" ", 1)[1])


def test_disconnect_mid_stream_aborts_and_frees_pages(live):
    before = aborted_count(live)
    stream = live.client().chat.completions.create(
        model=MODEL_NAME,
        messages=[{"role": "user", "content": "hello"}],
        max_tokens=50,
        temperature=0,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    received = 0
    for chunk in stream:
        received += bool(chunk.choices and chunk.choices[0].delta.content)
        if received == 2:
            break
    assert live.llm.engine.blocks.num_free_blocks < live.llm.engine.blocks.capacity
    stream.close()
    live.wait_idle()
    assert aborted_count(live) == before + 1


def test_non_streaming_disconnect_aborts(live):
    import httpx

    before = aborted_count(live)
    body = {"model": MODEL_NAME, "prompt": "hello", "max_tokens": 55, "ignore_eos": True}
    # the client gives up long before the answer
    with live.http(timeout=httpx.Timeout(60, read=0.05)) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/v1/completions", json=body)
    live.wait_idle()
    assert aborted_count(live) == before + 1


async def _run_one(client, prompt: str, leave_after: int | None) -> str | None:
    stream = await client.completions.create(
        model=MODEL_NAME,
        prompt=prompt,
        max_tokens=16,
        temperature=0,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    text, chunks = "", 0
    async for chunk in stream:
        chunks += 1
        if leave_after is not None and chunks >= leave_after:
            await stream.close()
            return None
        text += chunk.choices[0].text
        if chunk.choices[0].finish_reason is not None:
            assert chunk.choices[0].finish_reason == "length"
    return text


def test_32_concurrent_streams_half_disconnecting(live):
    reference = {
        p: live.client()
        .completions.create(
            model=MODEL_NAME,
            prompt=p,
            max_tokens=16,
            temperature=0,
            extra_body={"ignore_eos": True},
        )
        .choices[0]
        .text
        for p in PROMPTS
    }
    rng = random.Random(0)
    plan = [(PROMPTS[i % len(PROMPTS)], rng.randint(1, 12) if i % 2 else None) for i in range(32)]

    async def main() -> list[str | None]:
        client = openai.AsyncOpenAI(
            base_url=f"{live.url}/v1", api_key=API_KEY, max_retries=0, timeout=120
        )
        async with client:
            return await asyncio.gather(*(_run_one(client, p, leave) for p, leave in plan))

    results = asyncio.run(main())
    for (prompt, leave), text in zip(plan, results, strict=True):
        if leave is None:
            assert text == reference[prompt]
    live.wait_idle()
    with live.http() as http:
        metrics = http.get("/metrics").text
    assert f'jaxserve:kv_cache_usage_perc{{model_name="{MODEL_NAME}"}} 0.0' in metrics
    assert live.llm.engine.blocks.num_free_blocks == live.llm.engine.blocks.capacity
