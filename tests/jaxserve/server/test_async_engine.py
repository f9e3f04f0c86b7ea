"""AsyncEngine's thread: started, stopped and started again, but never after a failure."""

from __future__ import annotations

import asyncio

import pytest

from jaxserve import SamplingParams
from jaxserve.server.async_engine import AsyncEngine, EngineDeadError, SequenceSpec
from jaxserve.server.metrics import ServerMetrics

pytestmark = pytest.mark.cpu

SPEC = SequenceSpec([1, 5, 9], SamplingParams(temperature=0.0, max_tokens=4, ignore_eos=True))


async def generate(engine: AsyncEngine) -> list[int]:
    stream = engine.submit([SPEC])
    await stream.accepted()
    return [token for update in [u async for u in stream] for token in update.token_ids]


def test_a_stopped_engine_thread_starts_again(server_llm):
    engine = AsyncEngine(server_llm.engine, ServerMetrics("tiny"), max_waiting_requests=8)
    assert engine.error == "the engine thread is not running"
    engine.start()
    try:
        with pytest.raises(RuntimeError, match="running already"):
            engine.start()
        first = asyncio.run(generate(engine))
        engine.stop()
        assert not engine.running
        with pytest.raises(EngineDeadError, match="not running"):
            asyncio.run(generate(engine))
        engine.start()
        assert engine.running and engine.error is None
        assert asyncio.run(generate(engine)) == first and len(first) == 4
    finally:
        engine.stop()
    assert not server_llm.engine.has_unfinished()


def test_a_failed_engine_stays_stopped(server_llm, monkeypatch):
    engine = AsyncEngine(server_llm.engine, ServerMetrics("tiny"), max_waiting_requests=8)

    def broken_step():
        raise RuntimeError("device lost")

    monkeypatch.setattr(server_llm.engine, "step", broken_step)
    engine.start()
    try:
        with pytest.raises(EngineDeadError, match="device lost"):
            asyncio.run(generate(engine))
        engine.stop()
        with pytest.raises(EngineDeadError, match="device lost"):
            engine.start()
    finally:
        engine.stop()
    monkeypatch.undo()
    assert not server_llm.engine.has_unfinished()
