"""FileStore, the multipart upload parser and the upload / file= routes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

import webui as gr
from webui.file_routes import MAX_HEADER_BYTES, MultipartUpload, multipart_boundary
from webui.files import FileAccessError, FileStore, check_payload_files, parse_file_size
from webui.files import safe_filename as safe
from webui.upload_progress import UploadProgress

BOUNDARY = b"xYzZY"


def multipart(*parts: tuple[str, str | None, bytes], boundary: bytes = BOUNDARY) -> bytes:
    """A multipart/form-data body of (field name, filename or None, content) parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += b"--" + boundary + b"\r\n"
        body += f"Content-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def parse(store: FileStore, body: bytes, chunk: int) -> list[Path]:
    parser = MultipartUpload(store, BOUNDARY)
    try:
        for start in range(0, len(body), chunk):
            parser.feed(body[start : start + chunk])
        return parser.finish()
    finally:
        parser.abort()


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "app")


# -- sizes and names ----------------------------------------------------------------------------


def test_parse_file_size_units() -> None:
    assert parse_file_size(None) is None
    assert parse_file_size(1000) == 1000
    assert parse_file_size("5mb") == 5 * 1024 * 1024
    assert parse_file_size("1.5 KB") == 1536
    assert parse_file_size("2gb") == 2 << 30
    for bad in ("five", "5 parsecs", "-1kb"):
        with pytest.raises(ValueError, match="max_file_size"):
            parse_file_size(bad)
    with pytest.raises(ValueError, match="positive"):
        parse_file_size(0)


def test_safe_filename_keeps_only_a_plain_last_segment() -> None:
    assert safe("../../evil.py") == "evil.py"
    assert safe("..\\..\\evil.py") == "evil.py"
    assert safe("a<b>:c|d?.png") == "abcd.png"
    assert safe("50% #1 & 'me'.png") == "50 1  me.png"
    assert safe("café (2).jpg") == "café (2).jpg"
    assert safe("..") == "file"
    assert safe(".bashrc") == "bashrc"
    assert safe("") == "file"
    long = safe("x" * 300 + ".png")
    assert len(long) <= 200 and long.endswith(".png")


# -- the policy ---------------------------------------------------------------------------------


def test_check_allows_the_upload_and_cache_dirs_only(store: FileStore, tmp_path: Path) -> None:
    cached = store.cache_bytes(b"hi", "a.txt")
    assert store.check_file(str(cached)) == cached
    assert cached.parent.parent == store.cache_dir
    outside = tmp_path / "outside.txt"
    outside.write_text("no")
    with pytest.raises(FileAccessError) as denied:
        store.check(str(outside))
    assert denied.value.status == 403 and str(tmp_path) not in denied.value.message
    with pytest.raises(FileAccessError) as missing:
        store.check_file(str(store.upload_dir / "x" / "y.png"))
    assert missing.value.status == 404


def test_check_classifies_malformed_paths_as_400(store: FileStore) -> None:
    for raw in ("", "a\x00b", "C:\\x", "\\\\host\\share", "//host/share", "http://h/x", "file:/x"):
        with pytest.raises(FileAccessError) as refused:
            store.check(raw)
        assert refused.value.status == 400, raw
    with pytest.raises(FileAccessError) as refused:
        store.check(None)  # type: ignore[arg-type]
    assert refused.value.status == 400


def test_allowed_and_blocked_paths(store: FileStore, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "private").mkdir(parents=True)
    (shared / "ok.txt").write_text("ok")
    (shared / "private" / "key.txt").write_text("key")
    store.configure(allowed_paths=[shared], blocked_paths=[shared / "private"])
    assert store.check_file(str(shared / "ok.txt")) == shared / "ok.txt"
    with pytest.raises(FileAccessError, match="denied"):
        store.check(str(shared / "private" / "key.txt"))
    with pytest.raises(TypeError, match="list of paths"):
        store.configure(allowed_paths=str(shared))  # type: ignore[arg-type]


def test_a_nested_list_of_allowed_paths_is_read_as_its_items(
    store: FileStore, tmp_path: Path
) -> None:
    """Gradio's audio_subtitle demo passes allowed_paths=[MEDIA_PATHS], a list in a list."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "ok.txt").write_text("ok")
    store.configure(allowed_paths=[[shared, tmp_path / "other"]])  # type: ignore[list-item]
    assert store.check_file(str(shared / "ok.txt")) == shared / "ok.txt"


def test_configure_relative_paths_against_the_current_directory(
    store: FileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "logo.png").write_bytes(b"png")
    monkeypatch.chdir(tmp_path)
    store.configure(allowed_paths=["assets"])
    assert store.check_file("assets/logo.png") == tmp_path / "assets" / "logo.png"


def test_cache_file_copies_once_and_keeps_uploads_in_place(
    store: FileStore, tmp_path: Path
) -> None:
    source = tmp_path / "result.txt"
    source.write_text("result")
    first = store.cache_file(source)
    assert first.parent.name == hashlib.sha256(b"result").hexdigest()
    assert store.cache_file(source) == first
    assert store.cache_file(first) == first  # already in the cache: used in place
    with pytest.raises(FileAccessError) as missing:
        store.cache_file(tmp_path / "none.txt")
    assert missing.value.status == 404


def test_check_payload_files_walks_nested_values(store: FileStore) -> None:
    good = {"path": str(store.cache_bytes(b"x", "x.txt")), "meta": {"_type": "gradio.FileData"}}
    check_payload_files(store, {"a": [good, {"b": good}], "c": "text"})
    check_payload_files(store, {"path": "/etc/passwd"})  # no marker: plain data
    with pytest.raises(FileAccessError):
        check_payload_files(store, [{"x": {**good, "path": "/etc/passwd"}}])


def test_default_directory_is_private_and_removed_by_cleanup() -> None:
    store = FileStore()
    root = store.root
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    store.cache_bytes(b"x", "x.txt")
    store.cleanup()
    assert not root.exists()
    assert store.root != root  # a later use makes a new one


def test_gradio_temp_dir_is_honoured_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gtemp"))
    store = FileStore()
    assert store.root == tmp_path / "gtemp"
    store.cleanup()
    assert (tmp_path / "gtemp").is_dir()


# -- the multipart parser -----------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_multipart_parts_survive_any_chunking(store: FileStore, chunk: int) -> None:
    noise = random.Random(chunk).randbytes
    payload = noise(3000) + b"\r\n--xYzZ!" + noise(100)  # a near-delimiter inside the data
    body = b"preamble\r\n" + multipart(
        ("files", "a.bin", payload),
        ("other", None, b"ignored field"),
        ("files", "b.txt", b""),
    )
    paths = parse(store, body, chunk)
    assert [p.name for p in paths] == ["a.bin", "b.txt"]
    assert paths[0].read_bytes() == payload and paths[1].read_bytes() == b""
    assert paths[0].parent.name == hashlib.sha256(payload).hexdigest()
    assert not any((store.root / "partial").iterdir())


def test_multipart_rejects_an_oversized_file_and_deletes_it(store: FileStore) -> None:
    store.configure(max_file_size=100)
    with pytest.raises(FileAccessError) as too_big:
        parse(store, multipart(("files", "big.bin", b"x" * 101)), 16)
    assert too_big.value.status == 413 and "100 bytes" in too_big.value.message
    assert not any((store.root / "partial").iterdir())
    assert parse(store, multipart(("files", "ok.bin", b"x" * 100)), 16)[0].stat().st_size == 100


def test_multipart_malformed_bodies_are_400(store: FileStore) -> None:
    truncated = multipart(("files", "a.txt", b"data"))[:-10]
    huge_headers = b"--xYzZY\r\nX-Pad: " + b"a" * (MAX_HEADER_BYTES + 10)
    bad_after_boundary = b"--xYzZYjunk"
    for body in (truncated, huge_headers, bad_after_boundary, b""):
        with pytest.raises(FileAccessError) as refused:
            parse(store, body, 1024)
        assert refused.value.status == 400


def test_multipart_boundary_and_content_type() -> None:
    assert multipart_boundary('multipart/form-data; boundary="a b"') == b"a b"
    assert multipart_boundary("multipart/form-data; charset=utf-8; boundary=xyz") == b"xyz"
    for bad in ("application/json", "multipart/form-data", "multipart/form-data; boundary="):
        with pytest.raises(FileAccessError):
            multipart_boundary(bad)


def test_multipart_filename_forms(store: FileStore) -> None:
    body = (
        b'--xYzZY\r\nContent-Disposition: form-data; name="files"; filename="q\\"x.txt"\r\n\r\n'
        b"1\r\n--xYzZY\r\nContent-Disposition: form-data; name=files; "
        b"filename*=UTF-8''caf%C3%A9.txt\r\n\r\n2\r\n--xYzZY--"
    )
    assert [p.name for p in parse(store, body, 5)] == ["qx.txt", "café.txt"]


# -- the routes ---------------------------------------------------------------------------------


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.File(label="f")
    return demo


def test_upload_route_stores_files_and_serves_them_back() -> None:
    demo = build()
    with TestClient(demo.app) as http:
        response = http.post(
            "/gradio_api/upload",
            files=[("files", ("a.png", b"\x89PNG-a")), ("files", ("b.txt", b"text"))],
        )
        assert response.status_code == 200
        paths = response.json()
        assert [Path(p).parent.parent for p in paths] == [demo.files.upload_dir] * 2
        image = http.get(f"/gradio_api/file={paths[0]}")
        assert image.content == b"\x89PNG-a"
        assert image.headers["content-type"] == "image/png"
        assert image.headers["content-disposition"].startswith("inline")
        assert image.headers["x-content-type-options"] == "nosniff"
        ranged = http.get(f"/gradio_api/file={paths[1]}", headers={"Range": "bytes=1-2"})
        assert ranged.status_code == 206 and ranged.content == b"ex"
        head = http.head(f"/gradio_api/file={paths[1]}")
        assert head.status_code == 200 and head.headers["content-length"] == "4"
        assert http.post("/gradio_api/upload", content=b"{}").status_code == 400
    demo.close()


def test_max_file_size_is_enforced_and_announced() -> None:
    demo = build()
    demo.launch(prevent_thread_lock=True, quiet=True, max_file_size="1kb")
    try:
        url = demo.local_url
        assert httpx.get(f"{url}config").json()["max_file_size"] == 1024
        too_big = httpx.post(f"{url}gradio_api/upload", files={"files": ("a", b"x" * 2048)})
        assert too_big.status_code == 413
        assert "1 KB" in too_big.json()["detail"]
        ok = httpx.post(f"{url}gradio_api/upload", files={"files": ("a", b"x" * 1024)})
        assert ok.status_code == 200
    finally:
        demo.close()


def test_close_removes_the_app_directory() -> None:
    demo = build()
    with TestClient(demo.app) as http:
        path = Path(http.post("/gradio_api/upload", files={"files": ("a.txt", b"a")}).json()[0])
    assert path.is_file()
    demo.close()
    assert not path.exists()


# -- upload progress ----------------------------------------------------------------------------


async def read_progress(client: httpx.AsyncClient, url: str) -> list[dict[str, object]]:
    messages = []
    async with client.stream("GET", url) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                messages.append(json.loads(line[6:]))
                if messages[-1]["msg"] == "done":
                    return messages
    return messages


def test_upload_progress_reports_bytes_then_done() -> None:
    demo = build()
    demo.launch(prevent_thread_lock=True, quiet=True)
    url = f"{demo.local_url}gradio_api"
    content = bytes(300_000)

    async def main() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        async with httpx.AsyncClient(timeout=10) as client:
            reader = asyncio.create_task(
                read_progress(client, f"{url}/upload_progress?upload_id=a")
            )
            await asyncio.sleep(0.2)  # the reader waits before the upload starts
            files = {"files": ("big.bin", content)}
            first = await client.post(f"{url}/upload?upload_id=a", files=files)
            second = await client.post(f"{url}/upload?upload_id=b", files=files)
            assert first.status_code == second.status_code == 200
            during = await asyncio.wait_for(reader, 10)
            after = await read_progress(client, f"{url}/upload_progress?upload_id=b")
            return during, after

    progress = demo.app.state.upload_progress  # the served app's (close() lets it go)
    try:
        during, after = asyncio.run(main())
    finally:
        demo.close()
    for messages in (during, after):
        assert messages[-1] == {"msg": "done"}
        updates = [m for m in messages if m["msg"] == "update"]
        assert sum(m["chunk_size"] for m in updates) == len(content)  # type: ignore[misc]
        assert {m["orig_name"] for m in updates} == {"big.bin"}
    assert progress.uploads == {}  # read entries are dropped


def test_upload_progress_entries_are_capped() -> None:
    progress = UploadProgress(max_tracked=2)
    first = progress.entry("a")
    progress.received("b", "x", 1)
    progress.finished("c")
    assert list(progress.uploads) == ["b", "c"]
    assert first.done  # an evicted entry ends its readers


def test_check_payload_files_survives_deep_nesting(store: FileStore) -> None:
    deep: list[object] = [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(FileAccessError):
        check_payload_files(store, deep)
