"""`jaxserve.ui.chat(llm)`: the playground of an in-process LLM, and who steps its engine."""

from __future__ import annotations

import socket
import time

import pytest
from gradio_client import Client

import webui as gr
from jaxserve import LLM, SamplingParams
from jaxserve.errors import EngineBusyError
from jaxserve.ui import ChatApp, chat
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("chat-app", "LlamaForCausalLM", seed=5)
# temperature, top_p, top_k, max_tokens, seed, stop, ignore_eos
GREEDY_CONTROLS = (0.0, 1.0, 0, 8, None, "", True)
GREEDY = SamplingParams(temperature=0.0, max_tokens=8, ignore_eos=True)
QUIET = {"prevent_thread_lock": True, "quiet": True, "inline": False}


@pytest.fixture(scope="module")
def llm(tiny_checkpoints):
    path = tiny_checkpoints(SPEC)
    return LLM(path, max_model_len=64, num_pages=40, max_num_seqs=8, max_num_batched_tokens=64)


def complete(url: str, prompt: str) -> str:
    client = Client(url, verbose=False)
    try:
        text, footer = client.predict(prompt, *GREEDY_CONTROLS, api_name="/complete")
    finally:
        client.close()
    assert "8 reply tokens" in footer
    return text


def generated(llm: LLM, prompt: str) -> str:
    (output,) = llm.generate(prompt, GREEDY, use_tqdm=False)
    return output.outputs[0].text


def assert_idle(llm: LLM) -> None:
    blocks = llm.engine.blocks
    assert not llm.engine.has_unfinished()
    assert blocks.num_free_blocks == blocks.capacity


def test_chat_serves_the_playground_while_generate_waits(llm):
    expected = generated(llm, "hello world")
    app = chat(llm, model_name="tiny", **QUIET)
    try:
        assert isinstance(app, gr.Blocks) and app.title == "jaxserve · tiny"
        assert app.async_engine.running
        assert complete(app.local_url, "hello world") == expected
        with pytest.raises(EngineBusyError, match=r"in use by jaxserve\.ui\.chat\(\)"):
            llm.generate("hello world", GREEDY, use_tqdm=False)
        with pytest.raises(EngineBusyError):
            chat(llm, **QUIET)  # a second app on the same engine
        assert complete(app.local_url, "hello world") == expected  # the first one still serves
    finally:
        app.close()
    assert not app.async_engine.running and app.local_url is None
    assert_idle(llm)
    assert generated(llm, "hello world") == expected


def test_a_closed_chat_relaunches(llm):
    expected = generated(llm, "the quick brown")
    app = chat(llm, dashboard=False, **QUIET)
    app.close()
    app.close()  # twice is harmless
    assert "dashboard" not in {d.api_name for d in app.dependencies}
    markdown = [b.value for b in app.blocks.values() if isinstance(b, gr.Markdown) and b.value]
    assert any(m.startswith("# jaxserve playground") for m in markdown)
    assert not any("/v1" in m for m in markdown)  # no API beside this page
    try:
        app.launch(**QUIET)
        assert complete(app.local_url, "the quick brown") == expected
        with pytest.raises(EngineBusyError):
            llm.generate("x", GREEDY, use_tqdm=False)
    finally:
        app.close()
    assert generated(llm, "the quick brown") == expected


def test_close_aborts_what_the_page_is_generating(llm):
    app = chat(llm, **QUIET)
    client = Client(app.local_url, verbose=False)
    try:
        controls = (0.0, 1.0, 0, 56, None, "", True)  # a long reply, still running at close
        job = client.submit("once upon a time", *controls, api_name="/complete")
        deadline = time.monotonic() + 30
        while not job.outputs() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job.outputs(), "the reply never started"
    finally:
        app.close()
        client.close()
    assert_idle(llm)
    assert generated(llm, "once upon a time")


def test_a_failed_launch_gives_the_engine_back(llm):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = ChatApp(llm)
        with pytest.raises(RuntimeError, match="failed to start"):
            app.launch(server_port=port, **QUIET)
    assert not app.async_engine.running
    assert generated(llm, "hello")


def test_chat_needs_a_tokenizer(tiny_checkpoints):
    bare = LLM(tiny_checkpoints(SPEC), max_model_len=32, num_pages=8, skip_tokenizer_init=True)
    with pytest.raises(ValueError, match="needs the model's tokenizer"):
        chat(bare, **QUIET)
