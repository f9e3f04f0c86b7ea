"""`GET /gradio_api/upload_progress?upload_id=`: how far an upload with that id has come.

Story: `POST /gradio_api/upload?upload_id=X` reports the bytes of each part to the app's
`UploadProgress` as they arrive; a reader of the progress stream for X (opened before, during
or after the upload) gets `update` messages with the bytes received since its last one, then
`done`. Updates coalesce while the reader is slow, so a fast upload never queues thousands of
messages, and entries are capped so ids nobody reads cannot pile up.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

HEARTBEAT_S = 15.0
MAX_TRACKED = 1000
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(eq=False)
class Tracked:
    """One upload's progress: the current file's name, bytes so far, and whether it ended."""

    orig_name: str = ""
    received: int = 0
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class UploadProgress:
    """Progress of the uploads of one app that carry an `upload_id`; lives on its event loop."""

    def __init__(self, max_tracked: int = MAX_TRACKED):
        self.uploads: OrderedDict[str, Tracked] = OrderedDict()
        self.max_tracked = max_tracked

    def entry(self, upload_id: str) -> Tracked:
        tracked = self.uploads.get(upload_id)
        if tracked is None:
            tracked = self.uploads[upload_id] = Tracked()
            while len(self.uploads) > self.max_tracked:
                _, evicted = self.uploads.popitem(last=False)
                evicted.done = True  # a reader still waiting on it stops
                evicted.changed.set()
        return tracked

    def received(self, upload_id: str, orig_name: str, size: int) -> None:
        tracked = self.entry(upload_id)
        tracked.orig_name = orig_name
        tracked.received += size
        tracked.changed.set()

    def finished(self, upload_id: str) -> None:
        tracked = self.entry(upload_id)
        tracked.done = True
        tracked.changed.set()

    def forget(self, upload_id: str, tracked: Tracked) -> None:
        if self.uploads.get(upload_id) is tracked:
            del self.uploads[upload_id]


def _sse(message: dict[str, object]) -> str:
    return f"data: {json.dumps(message)}\n\n"


async def _progress_stream(
    progress: UploadProgress, upload_id: str, stopping: asyncio.Event
) -> AsyncIterator[str]:
    tracked = progress.entry(upload_id)
    sent = 0
    try:
        while not stopping.is_set():
            tracked.changed.clear()  # before reading, so a change made meanwhile is not lost
            if tracked.received > sent:
                chunk, sent = tracked.received - sent, tracked.received
                yield _sse({"msg": "update", "orig_name": tracked.orig_name, "chunk_size": chunk})
            if tracked.done:
                yield _sse({"msg": "done"})
                return
            try:
                await asyncio.wait_for(tracked.changed.wait(), HEARTBEAT_S)
            except TimeoutError:
                yield _sse({"msg": "heartbeat"})
    finally:
        if tracked.done:
            progress.forget(upload_id, tracked)


async def upload_progress(request: Request) -> Response:
    """The SSE stream of one upload's progress."""
    upload_id = request.query_params.get("upload_id", "")
    if not upload_id:
        return JSONResponse({"detail": "upload_progress needs an upload_id"}, status_code=400)
    progress: UploadProgress = request.app.state.upload_progress
    stopping = request.app.state.webui.stopping
    return StreamingResponse(
        _progress_stream(progress, upload_id, stopping),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
