"""Streamed media outputs: `Audio(streaming=True)` or `Video(streaming=True)` fed by a generator.

Story: each value the generator yields for such an output is postprocessed as any value is (a
path, encoded bytes or a (sample_rate, samples) tuple becomes a file in the app's cache) and is
recorded as the next chunk of that output's `MediaStream`, kept in the session's state under the
event's id. The message carries the chunk's FileData marked `is_stream`, and the page plays the
chunks one after another, in order. When the generator ends, the output's value is the whole
stream, as in Gradio: a FileData marked `is_stream` whose url (`/gradio_api/stream/<session>/
<event>/<output>/<name>`) serves the chunks joined into one file, which gradio_client downloads.
Chunks are joined without transcoding (webui has no ffmpeg): WAV by their samples (same rate,
channels and width), MP3, ADTS AAC and MPEG-TS by their bytes; any other mix is refused when the
file is asked for, with an error naming the formats.
"""

from __future__ import annotations

import asyncio
import io
import mimetypes
import urllib.parse
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from webui.errors import Error
from webui.files import request_base_url
from webui.urls import API_PREFIX

if TYPE_CHECKING:
    from webui.events import Dependency
    from webui.files import FileStore
    from webui.processing import SessionState
    from webui.routes import Routes

STREAMED_BLOCKS = ("audio", "video")
JOINED_BY_BYTES = (".mp3", ".aac", ".ts")  # formats whose frames stand on their own


@dataclass
class MediaStream:
    """The chunks one streaming output received during one event, as files in the cache."""

    chunks: list[Path] = field(default_factory=list)
    joined: Path | None = None  # the whole stream, once someone asked for it

    @property
    def suffix(self) -> str:
        return self.chunks[0].suffix.lower() if self.chunks else ".wav"

    def join(self, store: FileStore) -> Path:
        """The chunks as one file in the cache (made on the first call)."""
        if self.joined is None:
            self.joined = store.cache_bytes(join_chunks(self.chunks), f"stream{self.suffix}")
        return self.joined


def join_chunks(chunks: list[Path]) -> bytes:
    """One file's bytes from chunk files of one format; Error when they cannot be joined."""
    suffixes = sorted({chunk.suffix.lower() for chunk in chunks})
    if suffixes == [".wav"]:
        return _join_wav(chunks)
    if len(suffixes) == 1 and suffixes[0] in JOINED_BY_BYTES:
        return b"".join(chunk.read_bytes() for chunk in chunks)
    raise Error(
        f"cannot join streamed chunks of {suffixes} into one file without transcoding; yield "
        f"WAV (or (sample_rate, samples)), or only one of {list(JOINED_BY_BYTES)}"
    )


def _join_wav(chunks: list[Path]) -> bytes:
    out = io.BytesIO()
    params = None
    with wave.open(out, "wb") as joined:
        for chunk in chunks:
            with wave.open(str(chunk), "rb") as part:
                shape = (part.getnchannels(), part.getsampwidth(), part.getframerate())
                if params is None:
                    params = shape
                    joined.setnchannels(shape[0])
                    joined.setsampwidth(shape[1])
                    joined.setframerate(shape[2])
                elif shape != params:
                    raise Error(
                        f"streamed WAV chunks differ (channels, sample width, rate): {params} "
                        f"then {shape}; webui joins them without resampling"
                    )
                joined.writeframes(part.readframes(part.getnframes()))
    return out.getvalue()


def streamed_outputs(dependency: Dependency) -> list[int]:
    """Indices of the outputs that stream a generator's chunks (none for a plain function, nor
    for a Timer's ticks, each of which is a run of its own, as in Gradio)."""
    if dependency.timer is not None or not dependency.is_generator:
        return []
    return [
        i
        for i, output in enumerate(dependency.outputs)
        if output.block_type in STREAMED_BLOCKS and getattr(output, "streaming", False)
    ]


class OutputStreams:
    """One event's streaming outputs: chunks in, `is_stream` FileData out."""

    def __init__(
        self, dependency: Dependency, state: SessionState, session_hash: str, event_id: str
    ):
        self.indices = streamed_outputs(dependency)
        self.ids = [dependency.outputs[i].id for i in self.indices]
        self.kinds = [dependency.outputs[i].block_type for i in self.indices]
        self.state, self.session_hash, self.event_id = state, session_hash, event_id

    def __bool__(self) -> bool:
        return bool(self.indices)

    def chunk(self, payloads: list[Any]) -> list[Any]:
        """Record each streaming output's new chunk; its payload says `is_stream`."""
        payloads = list(payloads)
        for index, output_id in zip(self.indices, self.ids, strict=True):
            payload = payloads[index]
            if not isinstance(payload, dict) or not isinstance(payload.get("path"), str):
                continue  # None (nothing this time) or a prop update
            key = stream_key(self.event_id, output_id)
            self.state.media_streams.setdefault(key, MediaStream()).chunks.append(
                Path(payload["path"])
            )
            payloads[index] = {**payload, "is_stream": True}
        return payloads

    def final(self, payloads: list[Any]) -> list[Any]:
        """The last message's payloads: each stream that had chunks, as the whole stream."""
        payloads = list(payloads)
        for index, output_id, kind in zip(self.indices, self.ids, self.kinds, strict=True):
            stream = self.state.media_streams.get(stream_key(self.event_id, output_id))
            if stream is None:
                continue
            name = f"{kind}-stream{stream.suffix}"  # Gradio's orig_name: audio-stream.mp3
            path = f"{self.session_hash}/{self.event_id}/{output_id}/{name}"
            payloads[index] = {
                "path": path,
                "url": stream_url(path),
                "orig_name": name,
                "is_stream": True,
                "meta": {"_type": "gradio.FileData"},
            }
        return payloads


def stream_key(event_id: str, output_id: int) -> str:
    return f"{event_id}/{output_id}"


def stream_url(path: str) -> str:
    """The URL of a whole stream: absolute while a request is served, as file URLs are."""
    quoted = f"{API_PREFIX}/stream/{urllib.parse.quote(path, safe='/')}"
    base_url = request_base_url.get()
    return quoted if base_url is None else f"{base_url().rstrip('/')}{quoted}"


def stream_output_routes(routes: Routes) -> list[Route]:
    """`GET /gradio_api/stream/{session}/{event}/{output}/{name}`: a finished stream's file."""

    async def whole_stream(request: Request) -> Response:
        params = request.path_params
        state = routes.queue.states.get(params["session_hash"])
        key = stream_key(params["event_id"], params["output_id"])
        stream = None if state is None else state.media_streams.get(key)
        if stream is None or not params["name"].endswith(stream.suffix):
            return Response("no such stream", status_code=404)
        try:
            path = await asyncio.to_thread(stream.join, routes.blocks.files)
        except Error as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, filename=params["name"])

    path = f"{API_PREFIX}/stream/{{session_hash}}/{{event_id}}/{{output_id:int}}/{{name}}"
    return [Route(path, whole_stream)]
