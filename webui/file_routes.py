"""The file routes: `POST /gradio_api/upload` and `GET /gradio_api/file={path}`.

Uploads: each multipart part named `files` is written to disk as it arrives, hashed on the way,
and moved to `upload/<sha256>/<safe name>`; nothing is held in memory beyond one chunk, and a
file over `max_file_size` stops the request at once with 413. Limits on part headers and part
count keep a hostile body from costing more than its own bytes. Serving: every path passes
`FileStore.check_file`; types outside INLINE_TYPES go out as octet-stream attachments, and
every file with `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import mimetypes
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from webui.files import FileAccessError, FileStore, request_base_url
from webui.upload_progress import UploadProgress

OnChunk = Callable[[str, int], None]  # (file name, bytes just received)

UPLOAD_FIELD = "files"
MAX_HEADER_BYTES = 16 * 1024  # one part's headers
MAX_PARTS = 1000
# Served inline with their own type; anything else (HTML, SVG, JS, XML, PDF, ...) is served as
# an octet-stream attachment, so a file can never run script in the app's origin.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/mpeg",
        "audio/ogg",
        "audio/flac",
        "audio/webm",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "text/plain",
        "application/json",
    }
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def human_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _params(header: str) -> dict[str, str]:
    """`key=value` parameters of a header such as Content-Disposition, quotes removed."""
    params: dict[str, str] = {}
    for key, value in _PARAM.findall(header):
        value = value.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        key = key.lower()
        if key.endswith("*") and "''" in value:  # RFC 5987: charset''percent-encoded
            charset, _, encoded = value.partition("''")
            with contextlib.suppress(LookupError):
                params[key[:-1]] = urllib.parse.unquote(encoded, encoding=charset or "utf-8")
            continue
        params.setdefault(key, value)
    return params


def multipart_boundary(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type, or a 400."""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise FileAccessError(400, "uploads must be sent as multipart/form-data")
    boundary = _params(content_type).get("boundary", "")
    if not 1 <= len(boundary) <= 200:
        raise FileAccessError(400, "the multipart Content-Type has no valid boundary")
    return boundary.encode("latin-1")


class _Part:
    """One file part being written to a partial file in the upload dir."""

    def __init__(self, store: FileStore, filename: str):
        fd, self.partial = store.new_partial()
        self.out: BinaryIO = os.fdopen(fd, "wb")
        self.filename = filename
        self.digest = hashlib.sha256()
        self.size = 0


class MultipartUpload:
    """A push parser over a multipart body: `feed` chunks, then `finish`; `abort` on error."""

    def __init__(self, store: FileStore, boundary: bytes, on_chunk: OnChunk | None = None):
        self.store = store
        self.on_chunk = on_chunk
        self.delimiter = b"\r\n--" + boundary
        # The body's first delimiter has no CRLF before it; prepending one lets one search
        # pattern find every delimiter.
        self.buffer = bytearray(b"\r\n")
        self.state = "preamble"
        self.part: _Part | None = None
        self.parts = 0
        self.paths: list[Path] = []

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while self._step():
            pass

    def finish(self) -> list[Path]:
        if self.state != "end":
            raise FileAccessError(400, "the multipart body ended before its closing boundary")
        return self.paths

    def abort(self) -> None:
        """Close and delete a file left half-written by an error."""
        if self.part is not None:
            self.part.out.close()
            with contextlib.suppress(OSError):
                os.unlink(self.part.partial)
            self.part = None

    def _step(self) -> bool:
        """Consume what the buffer allows; True if another step may make progress."""
        if self.state in ("preamble", "data"):
            found = self.buffer.find(self.delimiter)
            keep = len(self.delimiter) - 1  # a delimiter may straddle two chunks
            if found < 0:
                if len(self.buffer) > keep:
                    self._write(self.buffer[:-keep])
                    del self.buffer[:-keep]
                return False
            self._write(self.buffer[:found])
            del self.buffer[: found + len(self.delimiter)]
            if self.state == "data":
                self._end_part()
            self.state = "after_delimiter"
            return True
        if self.state == "after_delimiter":
            if len(self.buffer) < 2:
                return False
            if self.buffer[:2] == b"--":
                self.state = "end"
                self.buffer.clear()
                return False
            if self.buffer[:2] != b"\r\n":
                raise FileAccessError(400, "a multipart boundary is not followed by CRLF")
            del self.buffer[:2]
            self.state = "headers"
            return True
        if self.state == "headers":
            if self.buffer[:2] == b"\r\n":
                end, size = 0, 2  # a part without headers
            else:
                end, size = self.buffer.find(b"\r\n\r\n"), 4
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    raise FileAccessError(400, "a multipart part's headers are too large")
                return False
            headers = bytes(self.buffer[:end])
            del self.buffer[: end + size]
            self._begin_part(headers)
            self.state = "data"
            return True
        self.buffer.clear()  # "end": the epilogue is ignored
        return False

    def _begin_part(self, raw_headers: bytes) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise FileAccessError(400, f"an upload may hold at most {MAX_PARTS} parts")
        try:
            text = raw_headers.decode("utf-8")
        except UnicodeDecodeError:
            text = raw_headers.decode("latin-1")
        disposition = ""
        for line in text.split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        params = _params(disposition)
        if params.get("name") == UPLOAD_FIELD and "filename" in params:
            self.part = _Part(self.store, params["filename"])

    def _write(self, data: bytearray) -> None:
        part = self.part
        if part is None or not data:
            return  # preamble, or a part that is not a file upload: discarded
        part.size += len(data)
        limit = self.store.max_file_size
        if limit is not None and part.size > limit:
            raise FileAccessError(
                413,
                f"the file {part.filename!r} is over the maximum file size of {human_size(limit)}",
            )
        part.digest.update(data)
        part.out.write(data)
        if self.on_chunk is not None:
            self.on_chunk(part.filename, len(data))

    def _end_part(self) -> None:
        part, self.part = self.part, None
        if part is None:
            return
        part.out.close()
        path = self.store.commit_upload(part.partial, part.digest.hexdigest(), part.filename)
        self.paths.append(path)


async def receive_uploads(
    request: Request, store: FileStore, on_chunk: OnChunk | None = None
) -> list[str]:
    """Store every `files` part of the request's multipart body; their server paths."""
    boundary = multipart_boundary(request.headers.get("content-type", ""))
    parser = MultipartUpload(store, boundary, on_chunk)
    try:
        async for chunk in request.stream():
            parser.feed(chunk)
        return [str(path) for path in parser.finish()]
    finally:
        parser.abort()


def _cross_site_to_loopback(request: Request) -> bool:
    """A browser request from another site to an app on a loopback host (CSRF on a local app:
    any web page could otherwise post files to it). Non-browser clients send no Origin."""
    origin = request.headers.get("origin")
    host = urllib.parse.urlsplit("//" + request.headers.get("host", "")).hostname
    if origin is None or host not in LOOPBACK_HOSTS:
        return False
    return origin == "null" or urllib.parse.urlsplit(origin).hostname not in LOOPBACK_HOSTS


async def upload_files(request: Request) -> Response:
    """`POST /gradio_api/upload`: the JSON list of the stored files' server paths."""
    store: FileStore = request.app.state.webui.blocks.files
    if _cross_site_to_loopback(request):
        return refusal(FileAccessError(403, "cross-site uploads to a local app are refused"))
    upload_id = request.query_params.get("upload_id")
    progress: UploadProgress | None = request.app.state.upload_progress if upload_id else None
    on_chunk = None
    if progress is not None and upload_id:
        on_chunk = functools.partial(progress.received, upload_id)
    try:
        paths = await receive_uploads(request, store, on_chunk)
    except FileAccessError as error:
        return refusal(error)
    finally:
        if progress is not None and upload_id:
            progress.finished(upload_id)
    return JSONResponse(paths)


def file_response(path: Path) -> Response:
    """A response serving `path`; types outside INLINE_TYPES download as attachments."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"X-Content-Type-Options": "nosniff"}
    if media_type in INLINE_TYPES:
        return FileResponse(
            path,
            media_type=media_type,
            headers=headers,
            filename=path.name,
            content_disposition_type="inline",
        )
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers=headers,
        filename=path.name,
        content_disposition_type="attachment",
    )


def refusal(error: FileAccessError) -> Response:
    """The JSON error response for a refused path or upload."""
    return JSONResponse({"detail": error.message}, status_code=error.status)


async def serve_file(request: Request) -> Response:
    """`GET /gradio_api/file={path}` (and its aliases): one file the policy allows."""
    store: FileStore = request.app.state.webui.blocks.files
    try:
        path = store.check_file(request.path_params["path"])
    except FileAccessError as error:
        return refusal(error)
    return file_response(path)


class RequestScopeMiddleware:
    """Pure ASGI middleware naming the request being served, for `webui.files.file_url`."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_base_url.set(lambda: str(Request(scope).base_url))
        try:
            await self.app(scope, receive, send)
        finally:
            request_base_url.reset(token)
