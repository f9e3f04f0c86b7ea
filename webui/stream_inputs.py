"""Streaming inputs: `.stream()` events fed webcam frames or microphone chunks by the page.

Story (Gradio's wire format): the page joins the queue once, with the first chunk as the
event's input data. The event's task calls `fn` on it and sends the result as a
`process_streaming` message, then waits: each later chunk arrives by
`POST /gradio_api/stream/{event_id}` (a join body: `data`, `event_data`, `session_hash`), wakes
the task, which calls `fn` on it and sends the next `process_streaming`. The stream ends, with
`process_completed` carrying the last result, when the page posts
`/gradio_api/stream/{event_id}/close` (the user stopped recording), when `time_limit` seconds
have passed since the first chunk, or, with no `time_limit`, when no chunk came for 30 seconds
(a page that went away). Chunks that arrive while `fn` runs replace each other: `fn` sees
the latest. The event holds its concurrency slot for its whole life, so `concurrency_limit`
counts streams.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from webui.queue import Event
    from webui.routes import Routes

NO_CHUNK_WAIT_S = 30.0  # Gradio's wait for the next chunk when the event has no time_limit
MAX_CHUNK_BYTES = 16 * 1024 * 1024  # a chunk names uploaded files; its JSON body stays small


@dataclass(eq=False)
class StreamInput:
    """The chunks of one streaming event: the latest arrives in the event's `data`."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    first_call_s: float = 0.0  # how long fn took on the first chunk

    def time_limit_left(self, time_limit: float | None) -> float | None:
        """The `time_limit` a `process_streaming` message carries, as Gradio computes it: the
        event's limit less its first call (None: no limit)."""
        return None if not time_limit else time_limit - self.first_call_s


async def stream_chunks(
    event: Event,
    stream: StreamInput,
    results_of: Callable[[Event], AsyncIterator[list[Any]]],
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[list[Any]]:
    """The payloads of one call of `fn` per chunk, until the stream closes or times out.

    Args:
        event: the streaming event; `event.data` holds the first chunk, then the latest.
        stream: the event's chunk signal (`event.stream`).
        results_of: the payloads of each result of one call of `fn` on `event.data`.
        clock: seconds, for `time_limit`.
    """
    time_limit = event.dependency.time_limit
    started = clock()
    first = True
    while True:
        stream.arrived.clear()
        async for payloads in results_of(event):  # a generator fn sends each of its results
            if first:  # Gradio's messages count time_limit from the end of the first call
                stream.first_call_s, first = clock() - started, False
            yield payloads
        elapsed = clock() - started
        if stream.closed or (time_limit is not None and elapsed >= time_limit):
            return
        wait = (time_limit - elapsed) if time_limit is not None else NO_CHUNK_WAIT_S
        try:
            async with asyncio.timeout(wait):
                await stream.arrived.wait()
        except TimeoutError:
            return
        if stream.closed:
            return


async def _body(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    if len(raw) > MAX_CHUNK_BYTES:
        return JSONResponse({"detail": "the chunk is too large"}, status_code=413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"detail": "the request body is not valid JSON"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "the request body must be a JSON object"}, status_code=400)
    return body


def stream_input_routes(routes: Routes) -> list[Route]:
    """`POST /gradio_api/stream/{event_id}` (a chunk) and `.../close`, for one app."""
    from webui.api_info import API_PREFIX

    def streaming_event(request: Request) -> tuple[Event, StreamInput] | None:
        event = routes.queue.events.get(request.path_params["event_id"])
        if event is None or event.stream is None:
            return None
        return event, event.stream

    async def chunk(request: Request) -> Response:
        found = streaming_event(request)
        if found is None:
            return Response(status_code=404)
        event, stream = found
        body = await _body(request)
        if isinstance(body, Response):
            return body
        data = body.get("data")
        if body.get("session_hash") != event.session_hash:
            return JSONResponse({"detail": "the chunk's session_hash is not the event's"}, 403)
        if not isinstance(data, list) or len(data) != len(event.dependency.inputs):
            count = len(event.dependency.inputs)
            return JSONResponse({"detail": f"the chunk needs a 'data' list of {count}"}, 400)
        event.data = data
        if event.trigger is not None:
            event.trigger = dataclasses.replace(event.trigger, event_data=body.get("event_data"))
        stream.arrived.set()
        return JSONResponse({"msg": "success"})

    async def close(request: Request) -> Response:
        found = streaming_event(request)
        if found is None:
            return Response(status_code=404)
        _, stream = found
        stream.closed = True
        stream.arrived.set()
        return JSONResponse({"msg": "success"})

    return [
        Route(f"{API_PREFIX}/stream/{{event_id}}", chunk, methods=["POST"]),
        Route(f"{API_PREFIX}/stream/{{event_id}}/close", close, methods=["POST"]),
    ]
