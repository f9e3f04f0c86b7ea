"""A live server on a loopback port, in a thread, over a tiny checkpoint.

The engine is kept light (short max_model_len, few pages and sequences, no warm-up) and is
shared by every server test, so each shape and sampling mode compiles once per session.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from jaxserve import LLM
from jaxserve.server.app import create_app, uvicorn_server
from jaxserve.server.config import ServerConfig
from tests.tiny_models import TinySpec

SPEC = TinySpec("server", "LlamaForCausalLM", seed=5)
MODEL_NAME = "tiny"
API_KEY = "sk-test"


@dataclasses.dataclass
class LiveServer:
    url: str
    llm: LLM
    app: Any
    server: Any
    thread: threading.Thread

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("api_key", API_KEY)
        return openai.OpenAI(base_url=f"{self.url}/v1", max_retries=0, timeout=60, **kwargs)

    def http(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", 60)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until the engine holds no request and every page is free again."""
        blocks = self.llm.engine.blocks
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            gauges = self.app.state.metrics.gauges
            if (
                blocks.num_free_blocks == blocks.capacity
                and gauges.kv_cache_usage == 0
                and gauges.num_running == gauges.num_waiting == 0
            ):
                return
            time.sleep(0.02)
        raise AssertionError(
            f"the engine did not go idle: {blocks.num_free_blocks}/{blocks.capacity} pages free, "
            f"{self.app.state.metrics.gauges}"
        )


def build_llm(path: str, **kwargs: Any) -> LLM:
    options = dict(max_model_len=64, num_pages=40, max_num_seqs=8, max_num_batched_tokens=64)
    return LLM(path, warmup=False, **{**options, **kwargs})


def start_server(llm: LLM, **config: Any) -> LiveServer:
    settings = ServerConfig(
        **{
            "model": "/models/tiny",
            "served_model_name": MODEL_NAME,
            "port": 0,
            "api_key": API_KEY,
            "webui": False,
            "log_level": "warning",
            **config,
        }
    )
    app = create_app(llm, settings)
    server = uvicorn_server(app, settings)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(f"http://127.0.0.1:{port}", llm, app, server, thread)


@pytest.fixture(scope="session")
def server_llm(tiny_checkpoints) -> LLM:
    """One engine for every server test: its compiled shapes are shared across modules.

    Servers run on it one at a time (each test module stops its own before the next starts),
    so only one engine thread ever drives it.
    """
    return build_llm(tiny_checkpoints(SPEC))


@pytest.fixture(scope="session")
def vlm_llms(tiny_vlms):
    """One engine per tiny vision-language family (`tests.tiny_vlms.FAMILIES`), shared by
    the server tests that take images, as `server_llm` is by the text ones. Each is run once
    on an image before it is handed out, so its first step with an image (the encoder, the
    prefill and decode shapes) has compiled before any test waits on a page or a stream."""
    from PIL import Image

    from jaxserve import SamplingParams
    from tests.tiny_vlms import IMAGE_PLACES

    engines: dict[str, LLM] = {}
    image = Image.new("RGB", (84, 56), (120, 30, 200))

    def build(family: str) -> LLM:
        if family not in engines:
            engines[family] = LLM(
                tiny_vlms(family),
                warmup=False,
                max_model_len=256,
                num_pages=64,
                max_num_seqs=8,
                max_num_batched_tokens=64,
                page_size=16,
            )
            place = IMAGE_PLACES[family]
            warm = [f"<s>user: {place}hi", f"<s>system: {'be brief ' * 8}\n<s>user: {place}hi"]
            engines[family].generate(
                [{"prompt": p, "multi_modal_data": {"image": image}} for p in warm],
                SamplingParams(temperature=0, max_tokens=2),
                use_tqdm=False,
            )
        return engines[family]

    return build


@pytest.fixture(scope="module")
def live(server_llm) -> Iterator[LiveServer]:
    """One server per test module; tests leave it idle."""
    server = start_server(
        server_llm, max_request_bytes=64 * 1024, cors_origins=["http://app.example"]
    )
    yield server
    server.stop()
