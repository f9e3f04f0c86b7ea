"""Image URLs (data:, http(s):, file:) to decoded PIL images, under a `MediaPolicy`."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import http.client
import io
import os
import re
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import IO

from PIL import Image, UnidentifiedImageError

from jaxserve.errors import JaxserveError

# The formats a client may send. Others that Pillow knows stay out on purpose: EPS, for one,
# runs Ghostscript on load.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
SUPPORTED_SCHEMES = "data:image/...;base64, http://, https:// and file://"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}):")
_CHUNK_BYTES = 64 * 2**10
_URL_SHOWN_CHARS = 200

# `warnings.catch_warnings` swaps process-wide state and is not thread-safe before Python 3.14;
# the lock keeps our own header reads (cheap; pixel decoding runs outside it) from interleaving.
_HEADER_LOCK = threading.Lock()


class MediaError(JaxserveError, ValueError):
    """An image URL the server will not or cannot turn into an image (the server answers 400)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class MediaPolicy:
    """What `load_image` may read and how much of it.

    Attributes:
        allowed_local_media_paths: directories `file://` URLs may read from (after resolving
            symlinks and `..`); empty refuses `file://` altogether.
        allow_http: whether `http://` and `https://` URLs are fetched.
        fetch_timeout_s: limit on one http(s) fetch, from connecting to the last byte.
        max_image_bytes: limit on the encoded image, whatever the scheme.
        max_image_pixels: limit on width * height, checked from the header before decoding.
            Pillow's own `Image.MAX_IMAGE_PIXELS` also applies, so the lower of the two wins.
    """

    allowed_local_media_paths: tuple[Path, ...] = ()
    allow_http: bool = True
    fetch_timeout_s: float = 10.0
    max_image_bytes: int = 20 * 2**20
    max_image_pixels: int = 64 * 2**20

    def __post_init__(self) -> None:
        if isinstance(self.allowed_local_media_paths, (str, os.PathLike)):
            raise TypeError("allowed_local_media_paths must be a tuple of directories")
        resolved = []
        for path in self.allowed_local_media_paths:
            if not Path(path).is_dir():
                raise ValueError(f"allowed_local_media_paths: {path} is not an existing directory")
            resolved.append(Path(path).resolve())
        object.__setattr__(self, "allowed_local_media_paths", tuple(resolved))
        for name in ("fetch_timeout_s", "max_image_bytes", "max_image_pixels"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")


def load_image(url: str, policy: MediaPolicy) -> Image.Image:
    """Reads the image a URL names and decodes it fully.

    Args:
        url: `data:image/<type>;base64,<payload>`, `http(s)://...` or `file:///...`.
        policy: what may be read and how much.

    Returns:
        The image in its own mode (animated images: the first frame), with its pixels loaded.

    Raises:
        MediaError: the URL is refused, cannot be read, is too large, or is not a decodable image.
    """
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme == "data":
        data = _read_data_url(url, policy)
    elif scheme in ("http", "https"):
        data = _fetch_http(url, policy)
    elif scheme == "file":
        data = _read_file_url(url, policy)
    else:
        shown = f"scheme {scheme!r}" if scheme else "a URL with no scheme"
        raise MediaError(f"unsupported image URL: {shown}; use {SUPPORTED_SCHEMES}")
    return _decode(data, policy)


async def load_image_async(url: str, policy: MediaPolicy) -> Image.Image:
    """`load_image` in a worker thread, so the event loop never waits on a fetch or a decode."""
    return await asyncio.to_thread(load_image, url, policy)


def _shown(url: str) -> str:
    """The URL as an error message quotes it: shortened, since the client already has it."""
    return url if len(url) <= _URL_SHOWN_CHARS else url[:_URL_SHOWN_CHARS] + "..."


def _too_large(policy: MediaPolicy) -> MediaError:
    return MediaError(f"image is larger than the limit of {policy.max_image_bytes} bytes")


def _read_data_url(url: str, policy: MediaPolicy) -> bytes:
    header, comma, payload = url[len("data:") :].partition(",")
    mime, *params = header.split(";")
    if not comma or not mime.strip().lower().startswith("image/"):
        raise MediaError(
            f"data URL must hold an image (data:image/<type>;base64,...), got {mime[:64]!r}"
        )
    if [p.strip().lower() for p in params][-1:] != ["base64"]:
        raise MediaError("data URL must be base64-encoded (data:image/<type>;base64,...)")
    # strict base64 has no whitespace, so its length bounds the decoded size before decoding
    if len(payload) // 4 * 3 - payload[-2:].count("=") > policy.max_image_bytes:
        raise _too_large(policy)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(f"data URL payload is not valid base64: {exc}") from exc


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only (urllib's default also follows them to ftp)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise MediaError(f"image URL redirects to an unsupported URL: {_shown(newurl)}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch_http(url: str, policy: MediaPolicy) -> bytes:
    if not policy.allow_http:
        raise MediaError("http(s) image URLs are disabled on this server; send a data: URL")
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "jaxserve"})
    deadline = time.monotonic() + policy.fetch_timeout_s
    try:
        with opener.open(request, timeout=policy.fetch_timeout_s) as response:
            if response.status != 200:
                raise MediaError(f"could not fetch {_shown(url)}: HTTP {response.status}")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > policy.max_image_bytes:
                raise _too_large(policy)
            return _read_limited(response, policy, deadline)
    except MediaError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        raise MediaError(f"could not fetch {_shown(url)}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise MediaError(f"could not fetch {_shown(url)}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, bad responses
        raise MediaError(f"could not fetch {_shown(url)}: {exc or type(exc).__name__}") from exc
    except ValueError as exc:  # a URL urllib cannot parse (bad port, bad host name)
        raise MediaError(f"could not fetch {_shown(url)}: {exc}") from exc


def _read_limited(
    response: http.client.HTTPResponse, policy: MediaPolicy, deadline: float
) -> bytes:
    """Reads the body until it ends, passes the size limit, or the deadline passes."""
    chunks: list[bytes] = []
    received = 0
    while chunk := response.read1(_CHUNK_BYTES):  # what one recv gives
        received += len(chunk)
        if received > policy.max_image_bytes:
            raise _too_large(policy)
        # the socket timeout bounds each read; this bounds a server that trickles bytes
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete response within {policy.fetch_timeout_s} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file_url(url: str, policy: MediaPolicy) -> bytes:
    if not policy.allowed_local_media_paths:
        raise MediaError("file:// image URLs are disabled on this server; send a data: URL")
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise MediaError(f"file URL must name a local path (file:///...), got {_shown(url)}")
    path = Path(urllib.request.url2pathname(parts.path))
    # Resolving follows every symlink and `..`, so the check sees the file really read; it runs
    # before anything opens the file, so a refusal says nothing about what exists out there.
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, NUL bytes
        raise MediaError(f"could not read {_shown(url)}: not a valid path") from exc
    allowed = policy.allowed_local_media_paths
    if not path.is_absolute() or not any(resolved.is_relative_to(d) for d in allowed):
        raise MediaError(f"{_shown(url)} is outside the directories this server serves media from")
    # O_NOFOLLOW: a symlink swapped in after the check is refused, not followed;
    # O_NONBLOCK: a FIFO is refused below instead of blocking the open
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(resolved, flags)
    except FileNotFoundError as exc:
        raise MediaError(f"no such file: {_shown(url)}") from exc
    except OSError as exc:
        raise MediaError(f"could not read {_shown(url)}: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise MediaError(f"not a regular file: {_shown(url)}")
    try:
        with open(fd, "rb") as file:
            data = file.read(policy.max_image_bytes + 1)
    except OSError as exc:
        raise MediaError(f"could not read {_shown(url)}: {exc.strerror}") from exc
    if len(data) > policy.max_image_bytes:
        raise _too_large(policy)
    return data


def _open_header(data: bytes, policy: MediaPolicy) -> Image.Image:
    """Reads the image's header (no pixels) and refuses it if it has too many pixels."""
    try:
        # record=True keeps Pillow's warnings (DecompressionBombWarning among them) from being
        # printed; the pixel check below refuses what that one warns of
        with _HEADER_LOCK, warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise MediaError(f"image has too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        names = ", ".join(IMAGE_FORMATS[:-1]) + f" or {IMAGE_FORMATS[-1]}"
        raise MediaError(f"could not decode image: not a {names} image") from exc
    except Exception as exc:  # Pillow's plugins raise many types on hostile input
        raise MediaError(f"could not decode image: {exc}") from exc
    width, height = image.size
    limit = min(policy.max_image_pixels, Image.MAX_IMAGE_PIXELS or policy.max_image_pixels)
    if width * height > limit:
        raise MediaError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {limit} pixels"
        )
    return image


def _decode(data: bytes, policy: MediaPolicy) -> Image.Image:
    image = _open_header(data, policy)
    try:
        image.load()  # the first frame; an animated image stays on frame 0
    except Exception as exc:  # Pillow's plugins raise many types on hostile input
        raise MediaError(f"could not decode image: {exc}") from exc
    if getattr(image, "is_animated", False):
        return image.copy()  # a still image, not a file handle that can seek to other frames
    return image
