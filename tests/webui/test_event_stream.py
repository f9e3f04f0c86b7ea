"""The queue's SSE stream (`GET /queue/data`) over a raw socket: messages already queued go out
in one write, in order, and a reader that leaves takes no message with it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import webui as gr


class Stream:
    """One `GET /queue/data` response read chunk by chunk (chunked transfer encoding)."""

    def __init__(self, url: str, session: str):
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        path = f"/gradio_api/queue/data?session_hash={session}"
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nhost: {parts.netloc}\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        assert b" 200 " in status, status
        while self.file.readline() != b"\r\n":
            pass

    def chunk(self) -> list[dict[str, Any]]:
        """The messages of the next chunk the server wrote."""
        size = int(self.file.readline(), 16)
        body = self.file.read(size)
        assert self.file.read(2) == b"\r\n"
        frames = body.decode().split("\n\n")
        assert frames[-1] == "", body  # a chunk holds whole messages only
        return [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def join(url: str, fn_index: int, text: str, session: str) -> str:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    body = json.dumps({"data": [text], "fn_index": fn_index, "session_hash": session}).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"POST /gradio_api/queue/join HTTP/1.1\r\nhost: {parts.netloc}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        reply = b""
        while data := sock.recv(65536):
            reply += data
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])["event_id"]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_queued_messages_arrive_in_one_write_in_order(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(lambda text: text[::-1], box, box, api_name="reverse")
    url = serve(demo).rstrip("/")
    queue = demo.app.state.webui.queue
    ids = [join(url, 0, text, "s1") for text in ("abc", "de", "f")]
    wait_for(lambda: not queue.events)  # all three done before anyone reads

    stream = Stream(url, "s1")
    messages = stream.chunk()
    stream.close()
    assert len(messages) == 9
    for event_id, text in zip(ids, ("abc", "de", "f"), strict=True):
        own = [m for m in messages if m["event_id"] == event_id]
        assert [m["msg"] for m in own] == ["estimation", "process_starts", "process_completed"]
        assert own[-1]["output"]["data"] == [text[::-1]]


def test_a_reader_that_leaves_takes_no_message_with_it(
    serve: Callable[[gr.Blocks], str],
) -> None:
    gate = threading.Event()

    def slow(text: str) -> str:
        gate.wait(10)
        return text.upper()

    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button().click(slow, box, box, api_name="slow")
    url = serve(demo).rstrip("/")
    queue = demo.app.state.webui.queue
    event_id = join(url, 0, "late", "s2")

    first = Stream(url, "s2")
    assert [m["msg"] for m in first.chunk()] == ["estimation", "process_starts"]
    first.close()  # gone while the event still runs
    time.sleep(0.3)  # lets the server see the disconnect before the event ends
    gate.set()
    wait_for(lambda: not queue.events)
    assert "s2" in queue.channels  # its completion is still unread

    second = Stream(url, "s2")
    [completed] = second.chunk()
    second.close()
    assert completed["msg"] == "process_completed"
    assert completed["event_id"] == event_id
    assert completed["output"]["data"] == ["LATE"]
