"""The Quickstart's server: `jaxserve run configs/default.yaml`, driven by the openai SDK.

The server is the session's `default_server` (tests/conftest.py), shared with the page tests.
"""

from __future__ import annotations

import openai
import pytest

pytestmark = [pytest.mark.cpu, pytest.mark.slow]


def test_streaming_chat(default_server):
    client = openai.OpenAI(base_url=default_server.api, api_key="none", max_retries=0)
    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "What does os.path.join do?"}],
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 24


def test_completion(default_server):
    client = openai.OpenAI(base_url=default_server.api, api_key="none", max_retries=0)
    reply = client.completions.create(
        model="default", prompt="import os\n\n\ndef ", max_tokens=32, temperature=0
    )
    assert reply.choices[0].text.strip()
    assert reply.usage.completion_tokens == 32 or reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 3
