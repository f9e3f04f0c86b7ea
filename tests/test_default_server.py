"""The Quickstart's server: `jaxserve run configs/default.yaml`, driven by the openai SDK."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.cpu, pytest.mark.slow]


@pytest.fixture(scope="module")
def default_server(tmp_path_factory):
    """The shipped default config on a free loopback port; yields its base URL."""
    cache = tmp_path_factory.mktemp("xla-cache")
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxserve.cli", "run", "configs/default.yaml", "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JAXSERVE_COMPILATION_CACHE": str(cache)},
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        lines.extend(iter(process.stderr.readline, ""))

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        port = None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            found = (re.search(r"serving 'default' at http://127\.0\.0\.1:(\d+)", x) for x in lines)
            port = next((int(m.group(1)) for m in found if m), None)
            time.sleep(0.1)
        assert port is not None, "".join(lines)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
        assert process.stderr is not None
        process.stderr.close()
        assert code == 0, "".join(lines)


def test_streaming_chat(default_server):
    client = openai.OpenAI(base_url=default_server, api_key="none", max_retries=0)
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
    client = openai.OpenAI(base_url=default_server, api_key="none", max_retries=0)
    reply = client.completions.create(
        model="default", prompt="import os\n\n\ndef ", max_tokens=32, temperature=0
    )
    assert reply.choices[0].text.strip()
    assert reply.usage.completion_tokens == 32 or reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 3
