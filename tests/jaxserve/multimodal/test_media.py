"""`load_image`: image URLs to PIL images, and everything the media policy refuses."""

from __future__ import annotations

import asyncio
import base64
import http.server
import io
import os
import re
import socket
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jaxserve.multimodal import media
from jaxserve.multimodal.media import MediaError, MediaPolicy, load_image, load_image_async

POLICY = MediaPolicy()


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def noise(width: int = 16, height: int = 12, mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, channels), np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels)
    assert image.mode == mode
    return image


def png_claiming_size(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR says `width` x `height`: a bomb's header without the bomb."""
    png = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = png.index(b"IHDR")  # length(4) type(4) data(13) crc(4); data opens with w, h
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(png[ihdr : ihdr + 17]))
    return bytes(png)


# data: URLs


WEBP_LOSSLESS = {"lossless": True, "exact": True}  # exact: keep the colour under alpha 0


@pytest.mark.parametrize(
    ("fmt", "mime", "options", "mode"),
    [("PNG", "image/png", {}, mode) for mode in ("RGB", "RGBA", "L", "LA")]
    + [("WEBP", "image/webp", WEBP_LOSSLESS, mode) for mode in ("RGB", "RGBA")],
)
def test_lossless_data_url_roundtrips_pixels_and_mode(fmt, mime, options, mode):
    original = noise(mode=mode)
    image = load_image(data_url(encode(original, fmt, **options), mime), POLICY)
    assert image.mode == mode
    assert image.size == (16, 12)
    np.testing.assert_array_equal(np.asarray(image), np.asarray(original))


def test_jpeg_data_url_decodes_close_to_the_original():
    ramp = np.linspace(0, 255, 32 * 24 * 3).reshape(24, 32, 3).astype(np.uint8)
    image = load_image(
        data_url(encode(Image.fromarray(ramp), "JPEG", quality=95), "image/jpeg"), POLICY
    )
    assert (image.mode, image.size) == ("RGB", (32, 24))
    assert np.abs(np.asarray(image, np.int16) - ramp).max() <= 8


def test_animated_gif_gives_its_first_frame():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 8), color) for color in colors]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(io.BytesIO(gif)).n_frames == 3
    image = load_image(data_url(gif, "image/gif"), POLICY)
    assert getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((4, 4)) == colors[0]


def test_bad_base64_is_refused():
    with pytest.raises(MediaError, match="not valid base64"):
        load_image("data:image/png;base64,iVBO!!!!", POLICY)


def test_base64_with_whitespace_is_refused():
    payload = base64.b64encode(encode(noise(), "PNG")).decode()
    with pytest.raises(MediaError, match="not valid base64"):
        load_image(f"data:image/png;base64,{payload[:8]}\n{payload[8:]}", POLICY)


@pytest.mark.parametrize("mime", ["text/plain", "application/octet-stream", ""])
def test_data_url_without_an_image_type_is_refused(mime):
    with pytest.raises(MediaError, match="data URL must hold an image"):
        load_image(data_url(encode(noise(), "PNG"), mime), POLICY)


def test_data_url_not_in_base64_is_refused():
    with pytest.raises(MediaError, match="must be base64-encoded"):
        load_image("data:image/png,%89PNG", POLICY)


def test_truncated_png_is_refused():
    png = encode(noise(64, 64), "PNG")
    with pytest.raises(MediaError, match="could not decode image: "):
        load_image(data_url(png[: len(png) // 2]), POLICY)


def test_random_bytes_are_refused_naming_the_formats():
    junk = np.random.default_rng(1).bytes(4096)
    with pytest.raises(MediaError, match=r"could not decode image: not a PNG, JPEG, .* image"):
        load_image(data_url(junk), POLICY)


@pytest.mark.parametrize("extra", [0, 1, 2])  # each padding length of the base64 payload
def test_data_url_size_limit_is_exact(extra):
    data = encode(noise(), "PNG") + b"\0" * extra  # Pillow ignores bytes after IEND
    assert load_image(data_url(data), MediaPolicy(max_image_bytes=len(data))).size == (16, 12)
    with pytest.raises(MediaError, match=f"larger than the limit of {len(data) - 1} bytes"):
        load_image(data_url(data), MediaPolicy(max_image_bytes=len(data) - 1))


def test_decompression_bomb_is_refused_from_its_header():
    # over our limit (64 Mi pixels), under Pillow's own (MAX_IMAGE_PIXELS, about 89 M)
    bomb = data_url(png_claiming_size(8200, 8200))
    with pytest.raises(MediaError, match=r"8200x8200 = 67240000 pixels; the limit is 67108864"):
        load_image(bomb, POLICY)
    # tiny limits apply too
    with pytest.raises(MediaError, match=r"16x12 = 192 pixels; the limit is 191 pixels"):
        load_image(data_url(encode(noise(), "PNG")), MediaPolicy(max_image_pixels=191))
    assert load_image(data_url(encode(noise(), "PNG")), MediaPolicy(max_image_pixels=192))


def test_pillows_own_bomb_limits_become_media_errors_not_warnings():
    lenient = MediaPolicy(max_image_pixels=2**40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # over Pillow's limit: its DecompressionBombWarning, kept inside load_image
        with pytest.raises(MediaError, match=f"the limit is {Image.MAX_IMAGE_PIXELS} pixels"):
            load_image(data_url(png_claiming_size(10_000, 10_000)), lenient)
        # over twice Pillow's limit: its DecompressionBombError
        with pytest.raises(MediaError, match="image has too many pixels"):
            load_image(data_url(png_claiming_size(100_000, 100_000)), lenient)
    assert caught == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [("ftp://example.com/a.png", "scheme 'ftp'"), ("images/a.png", "a URL with no scheme")],
)
def test_unknown_scheme_is_refused_listing_the_supported_ones(url, shown):
    with pytest.raises(MediaError, match=f"unsupported image URL: {shown}") as info:
        load_image(url, POLICY)
    assert all(s in str(info.value) for s in ("data:", "http://", "https://", "file://"))


def test_media_error_is_a_value_error():
    assert issubclass(MediaError, ValueError)


# http(s): URLs

Route = tuple[int, bytes, dict[str, str]] | Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, Route], threading.Event]]:
    """A local HTTP server: (base URL, routes to fill in, an event that ends slow handlers)."""
    routes: dict[str, Route] = {}
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path, (404, b"not here", {}))
            try:
                if callable(route):
                    route(self)
                    return
                status, body, headers = route
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes, release
    release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_http_200_image(server):
    base, routes, _ = server
    original = noise()
    routes["/a.png"] = (200, encode(original, "PNG"), {"Content-Type": "image/png"})
    image = load_image(f"{base}/a.png", POLICY)
    np.testing.assert_array_equal(np.asarray(image), np.asarray(original))


def test_http_404_is_refused_with_the_status(server):
    base, _, _ = server
    with pytest.raises(
        MediaError, match=r"could not fetch http://127.0.0.1:\d+/gone.png: HTTP 404"
    ):
        load_image(f"{base}/gone.png", POLICY)


def test_http_204_is_refused(server):
    base, routes, _ = server
    routes["/empty"] = (204, b"", {})
    with pytest.raises(MediaError, match="HTTP 204"):
        load_image(f"{base}/empty", POLICY)


def test_http_redirect_to_another_scheme_is_refused(server):
    base, routes, _ = server
    routes["/r"] = (302, b"", {"Location": "ftp://example.com/a.png"})
    with pytest.raises(
        MediaError, match=re.escape("redirects to an unsupported URL: ftp://example.com/a.png")
    ):
        load_image(f"{base}/r", POLICY)


def test_http_redirect_to_http_is_followed(server):
    base, routes, _ = server
    routes["/r"] = (302, b"", {"Location": "/a.png"})
    routes["/a.png"] = (200, encode(noise(), "PNG"), {})
    assert load_image(f"{base}/r", POLICY).size == (16, 12)


def test_http_server_slower_than_the_timeout_is_refused(server):
    base, routes, release = server
    routes["/slow"] = lambda handler: release.wait(5)
    start = time.monotonic()
    with pytest.raises(MediaError, match=r"could not fetch .*/slow: timed out"):
        load_image(f"{base}/slow", MediaPolicy(fetch_timeout_s=0.2))
    assert time.monotonic() - start < 2


def test_http_body_trickled_past_the_timeout_is_refused(server):
    base, routes, release = server

    def trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        while not release.wait(0.02):
            handler.wfile.write(b"x")
            handler.wfile.flush()

    routes["/trickle"] = trickle
    start = time.monotonic()
    with pytest.raises(MediaError, match=r"no complete response within 0\.3 s"):
        load_image(f"{base}/trickle", MediaPolicy(fetch_timeout_s=0.3))
    assert time.monotonic() - start < 2


def test_http_body_over_the_limit_is_refused_by_its_content_length(server):
    base, routes, _ = server
    routes["/big"] = (200, b"x" * 2000, {})
    with pytest.raises(MediaError, match="larger than the limit of 1000 bytes"):
        load_image(f"{base}/big", MediaPolicy(max_image_bytes=1000))


def test_http_body_over_the_limit_stops_being_read(server):
    base, routes, _ = server
    sent = {"bytes": 0}
    done = threading.Event()

    def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)  # no Content-Length: the body ends when the server closes
        handler.end_headers()
        try:
            while sent["bytes"] < 2**30:
                handler.wfile.write(b"x" * 2**16)
                sent["bytes"] += 2**16
        finally:
            done.set()

    routes["/endless"] = endless
    with pytest.raises(MediaError, match="larger than the limit of 100000 bytes"):
        load_image(f"{base}/endless", MediaPolicy(max_image_bytes=100_000))
    assert done.wait(5)
    assert sent["bytes"] < 2**30  # the client hung up instead of reading a GiB


def test_unreachable_port_is_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(
        MediaError,
        match=re.escape(f"could not fetch http://127.0.0.1:{port}/a.png: ") + ".*refused",
    ):
        load_image(f"http://127.0.0.1:{port}/a.png", POLICY)


def test_http_is_refused_when_disabled(server):
    base, routes, _ = server
    routes["/a.png"] = (200, encode(noise(), "PNG"), {})
    with pytest.raises(MediaError, match=r"http\(s\) image URLs are disabled"):
        load_image(f"{base}/a.png", MediaPolicy(allow_http=False))
    with pytest.raises(MediaError, match=r"http\(s\) image URLs are disabled"):
        load_image("https://example.com/a.png", MediaPolicy(allow_http=False))


# file: URLs


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(allowed, outside): each holding an `a.png`."""
    allowed, outside = tmp_path / "media", tmp_path / "private"
    for directory in (allowed, outside):
        directory.mkdir()
        (directory / "a.png").write_bytes(encode(noise(), "PNG"))
    return allowed, outside


def test_file_inside_an_allowed_dir_is_read(dirs):
    allowed, _ = dirs
    (allowed / "sub dir").mkdir()
    (allowed / "sub dir" / "b.png").write_bytes(encode(noise(), "PNG"))
    policy = MediaPolicy(allowed_local_media_paths=(allowed,))
    image = load_image((allowed / "sub dir" / "b.png").as_uri(), policy)
    np.testing.assert_array_equal(np.asarray(image), np.asarray(noise()))


def test_file_outside_the_allowed_dirs_is_refused_without_naming_them(dirs):
    allowed, outside = dirs
    url = (outside / "a.png").as_uri()
    with pytest.raises(MediaError, match="is outside the directories this server serves") as info:
        load_image(url, MediaPolicy(allowed_local_media_paths=(allowed,)))
    assert url in str(info.value)
    assert str(allowed) not in str(info.value)


def test_dot_dot_cannot_escape_an_allowed_dir(dirs):
    allowed, outside = dirs
    url = f"file://{allowed}/../{outside.name}/a.png"
    assert Path(f"{allowed}/../{outside.name}/a.png").is_file()
    with pytest.raises(MediaError, match="is outside the directories"):
        load_image(url, MediaPolicy(allowed_local_media_paths=(allowed,)))


def test_symlink_inside_pointing_outside_is_refused(dirs):
    allowed, outside = dirs
    (allowed / "link.png").symlink_to(outside / "a.png")
    (allowed / "linkdir").symlink_to(outside)
    policy = MediaPolicy(allowed_local_media_paths=(allowed,))
    for url in ((allowed / "link.png").as_uri(), (allowed / "linkdir" / "a.png").as_uri()):
        with pytest.raises(MediaError, match="is outside the directories"):
            load_image(url, policy)


def test_symlink_inside_pointing_inside_is_read(dirs):
    allowed, _ = dirs
    (allowed / "link.png").symlink_to(allowed / "a.png")
    policy = MediaPolicy(allowed_local_media_paths=(allowed,))
    assert load_image((allowed / "link.png").as_uri(), policy).size == (16, 12)


def test_file_urls_are_refused_without_allowed_dirs(dirs):
    allowed, _ = dirs
    with pytest.raises(MediaError, match="file:// image URLs are disabled"):
        load_image((allowed / "a.png").as_uri(), POLICY)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("missing.png", "no such file"), ("", "not a regular file"), ("a.png", "larger than")],
)
def test_unreadable_files_inside_an_allowed_dir_are_refused(dirs, name, problem):
    allowed, _ = dirs
    policy = MediaPolicy(allowed_local_media_paths=(allowed,), max_image_bytes=100)
    url = f"file://{allowed}/{name}"
    with pytest.raises(MediaError, match=problem) as info:
        load_image(url, policy)
    assert "larger" in problem or url in str(info.value)


def test_fifo_inside_an_allowed_dir_is_refused_without_blocking(dirs):
    allowed, _ = dirs
    os.mkfifo(allowed / "pipe.png")  # nothing ever writes to it: a blocking open would hang
    with pytest.raises(MediaError, match="not a regular file"):
        load_image(
            (allowed / "pipe.png").as_uri(), MediaPolicy(allowed_local_media_paths=(allowed,))
        )


def test_file_url_on_another_host_is_refused(dirs):
    allowed, _ = dirs
    with pytest.raises(MediaError, match="must name a local path"):
        load_image(
            f"file://fileserver{allowed}/a.png", MediaPolicy(allowed_local_media_paths=(allowed,))
        )


def test_policy_refuses_allowed_dirs_that_are_not_directories(tmp_path):
    with pytest.raises(
        ValueError, match=f"{re.escape(str(tmp_path / 'nope'))} is not an existing directory"
    ):
        MediaPolicy(allowed_local_media_paths=(tmp_path / "nope",))
    (tmp_path / "f").write_text("")
    with pytest.raises(
        ValueError, match=f"{re.escape(str(tmp_path / 'f'))} is not an existing directory"
    ):
        MediaPolicy(allowed_local_media_paths=(tmp_path / "f",))
    with pytest.raises(ValueError, match="max_image_bytes must be positive"):
        MediaPolicy(max_image_bytes=0)


# async


def test_async_variant_decodes_in_a_worker_thread(monkeypatch):
    threads = []

    def recording_load_image(url: str, policy: MediaPolicy) -> Image.Image:
        threads.append(threading.get_ident())
        return load_image(url, policy)

    monkeypatch.setattr(media, "load_image", recording_load_image)
    image = asyncio.run(load_image_async(data_url(encode(noise(), "PNG")), POLICY))
    np.testing.assert_array_equal(np.asarray(image), np.asarray(noise()))
    assert threads and threads[0] != threading.get_ident()


def test_async_variant_raises_media_errors():
    with pytest.raises(MediaError, match="not valid base64"):
        asyncio.run(load_image_async("data:image/png;base64,@@@@", POLICY))
