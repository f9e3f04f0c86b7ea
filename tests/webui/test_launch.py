"""launch() and close(): one server per app, relaunch after close, blocking only in scripts."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest
from gradio_client import Client

import webui as gr


def reverse_app() -> gr.Blocks:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text[::-1], box, box, api_name="reverse")
    return demo


def server_threads() -> int:
    return sum(t.name == "webui-server" and t.is_alive() for t in threading.enumerate())


def reverse(url: str, text: str) -> str:
    client = Client(url, verbose=False)
    try:
        return client.predict(text, api_name="/reverse")
    finally:
        client.close()


def test_launch_twice_reuses_the_running_server(caplog) -> None:
    demo = reverse_app()
    before = server_threads()
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        app = demo.app
        with caplog.at_level(logging.WARNING, logger="webui.blocks"):
            _, again, _ = demo.launch(prevent_thread_lock=True, quiet=True)
            assert caplog.records == []  # same settings: nothing to say
            demo.launch(server_port=1, prevent_thread_lock=True, quiet=True)
        assert again == url and demo.app is app
        assert server_threads() == before + 1
        assert "already running" in caplog.text and "close() it first" in caplog.text
        assert reverse(url, "abc") == "cba"
    finally:
        demo.close()
    assert server_threads() == before


def test_relaunch_after_close_serves_a_fresh_app() -> None:
    demo = reverse_app()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    first_app = demo.app
    assert reverse(url, "abc") == "cba"
    demo.close()
    assert demo.local_url is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}config")
    try:
        # The same port again: the old queue stopped its streams, the new one must not have.
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        _, url2, _ = demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
        assert url2 == url and demo.app is not first_app
        assert reverse(url2, "xyz") == "zyx"
        demo.close()
        _, url3, _ = demo.launch(prevent_thread_lock=True, quiet=True)  # any free port
        assert reverse(url3, "again") == "niaga"
    finally:
        demo.close()


def test_in_a_script_launch_blocks_until_the_server_stops() -> None:
    demo = reverse_app()
    returned = threading.Event()
    thread = threading.Thread(target=lambda: (demo.launch(quiet=True), returned.set()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while demo.local_url is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert demo.local_url is not None
    assert not returned.wait(0.5), "launch() returned while its server runs"
    demo.close()
    assert returned.wait(15), "launch() still blocks after close()"


def test_wildcard_host_gets_a_url_a_browser_can_open() -> None:
    demo = reverse_app()
    try:
        _, url, _ = demo.launch("0.0.0.0", prevent_thread_lock=True, quiet=True)
        assert url.startswith("http://localhost:")
        assert httpx.get(f"{url}config").status_code == 200
    finally:
        demo.close()


def test_a_port_in_use_is_a_clear_error_and_launch_can_retry() -> None:
    demo = reverse_app()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"failed to start on 127\.0\.0\.1:{port}"):
            demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    assert demo.local_url is None
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        assert reverse(url, "ok") == "ko"
    finally:
        demo.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gradio_server_port_in_the_environment_is_where_it_serves(monkeypatch) -> None:
    port = free_port()
    monkeypatch.setenv("GRADIO_SERVER_PORT", str(port))
    demo = reverse_app()
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        assert url == f"http://127.0.0.1:{port}/"
        assert reverse(url, "env") == "vne"
    finally:
        demo.close()


def test_gradio_server_port_taken_moves_on_to_the_next_port(monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("GRADIO_SERVER_PORT", str(port))
        demo = reverse_app()
        try:
            _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
            served = int(url.rstrip("/").rsplit(":", 1)[1])
            assert port < served < port + 100  # GRADIO_NUM_PORTS' default range, as Gradio's
        finally:
            demo.close()
        monkeypatch.setenv("GRADIO_NUM_PORTS", "1")
        with pytest.raises(RuntimeError, match=rf"failed to start on 127\.0\.0\.1:{port}"):
            demo.launch(prevent_thread_lock=True, quiet=True)


def test_launch_arguments_win_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_PORT", "1")  # would fail to bind if it were used
    monkeypatch.setenv("GRADIO_SERVER_NAME", "203.0.113.7")  # not an address of this machine
    port = free_port()
    demo = reverse_app()
    try:
        _, url, _ = demo.launch("127.0.0.1", port, prevent_thread_lock=True, quiet=True)
        assert url == f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_gradio_server_name_in_the_environment_is_the_address(monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    demo = reverse_app()
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        assert url.startswith("http://localhost:") and demo._host == "0.0.0.0"
    finally:
        demo.close()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_share_serves_locally_and_says_no_link_is_made(monkeypatch, capsys, caplog, how) -> None:
    """As Gradio offline: no share link, a line saying so, the app served on the local URL."""
    demo = reverse_app()
    if how == "environment":
        monkeypatch.setenv("GRADIO_SHARE", "True")
    try:
        _, url, share_url = demo.launch(
            share=True if how == "argument" else None, prevent_thread_lock=True
        )
        assert share_url is None
        assert reverse(url, "ab") == "ba"
        assert "webui makes no public share links" in capsys.readouterr().out
        assert "share=True" in caplog.text
    finally:
        demo.close()


def test_share_false_overrides_gradio_share(monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_SHARE", "true")
    demo = reverse_app()
    try:
        _, url, _ = demo.launch(share=False, prevent_thread_lock=True, quiet=True)
        assert reverse(url, "ab") == "ba"
    finally:
        demo.close()


def test_gradio_root_path_prefixes_the_urls_in_config(monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_ROOT_PATH", "/proxied/demo/")
    demo = reverse_app()
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        config = httpx.get(f"{url}config").json()  # a proxy that strips the prefix
        assert config["root"] == f"{url}proxied/demo"
    finally:
        demo.close()


def test_gradio_allowed_and_blocked_paths_in_the_environment(monkeypatch, tmp_path) -> None:
    shared, secret = tmp_path / "shared", tmp_path / "shared" / "secret"
    monkeypatch.setenv("GRADIO_ALLOWED_PATHS", f"{shared}, {tmp_path / 'other'}")
    monkeypatch.setenv("GRADIO_BLOCKED_PATHS", str(secret))
    demo = reverse_app()
    try:
        demo.launch(prevent_thread_lock=True, quiet=True)
        assert shared.resolve() in demo.files.allowed_paths
        assert (tmp_path / "other").resolve() in demo.files.allowed_paths
        assert secret.resolve() in demo.files.blocked_paths
    finally:
        demo.close()
    explicit = reverse_app()
    try:
        explicit.launch(allowed_paths=[str(secret)], prevent_thread_lock=True, quiet=True)
        assert shared.resolve() not in explicit.files.allowed_paths  # the argument wins
    finally:
        explicit.close()


def test_gradio_debug_blocks_even_with_prevent_thread_lock(monkeypatch) -> None:
    monkeypatch.setenv("GRADIO_DEBUG", "1")
    demo = reverse_app()
    returned = threading.Event()
    thread = threading.Thread(
        target=lambda: (demo.launch(prevent_thread_lock=True, quiet=True), returned.set()),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while demo.local_url is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert demo.local_url is not None
    assert not returned.wait(0.5), "GRADIO_DEBUG=1 launch() returned while its server runs"
    demo.close()
    assert returned.wait(15)


def test_max_threads_bounds_the_threads_of_sync_functions() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def slow(text: str) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return text

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(slow, box, box, api_name="slow", concurrency_limit=None)
    with pytest.raises(ValueError, match="max_threads"):
        demo.launch(max_threads=0, prevent_thread_lock=True, quiet=True)
    try:
        _, url, _ = demo.launch(max_threads=2, prevent_thread_lock=True, quiet=True)
        assert demo.max_threads == 2
        client = Client(url, verbose=False)
        try:
            jobs = [client.submit(str(i), api_name="/slow") for i in range(5)]
            assert sorted(job.result() for job in jobs) == [str(i) for i in range(5)]
        finally:
            client.close()
        assert peak[0] == 2  # five calls at once, two threads
    finally:
        demo.close()
