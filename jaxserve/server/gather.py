"""Waiting for a whole (not streamed) generation, and aborting it if the client leaves."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from jaxserve.server import responses
from jaxserve.server.async_engine import GenerationFailed, OutputStream
from jaxserve.server.errors import ClientDisconnected, EngineError


async def gather(stream: OutputStream, count: int, request: Request) -> list[responses.Choice]:
    """Every sequence's whole output; aborts them if the client disconnects first."""
    choices = [responses.Choice(i) for i in range(count)]

    async def collect() -> None:
        async for update in stream:
            choices[update.index].add(update)

    collector = asyncio.ensure_future(collect())
    watcher = asyncio.ensure_future(disconnected(request))
    try:
        done, _ = await asyncio.wait({collector, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if collector not in done:
            raise ClientDisconnected("the client disconnected before the completion was ready")
        collector.result()
    except GenerationFailed as e:
        raise EngineError(str(e)) from None
    finally:
        watcher.cancel()
        collector.cancel()
        stream.aclose()
    return choices


async def disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
