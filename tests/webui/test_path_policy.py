"""The path policy under attack: every known Gradio file CVE, replayed against a live server.

Each case asserts the refusal status (400 malformed, 403 denied) and that no byte of the secret
file, /etc/passwd or the server's private directories ever appears in a response.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import webui as gr

SECRET = f"TOP-SECRET-{uuid.uuid4().hex}"
FILE_DATA_META = {"_type": "gradio.FileData"}
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=")


class App:
    """A live app with an upload dir, an allowed dir, a blocked dir inside it and a secret."""

    def __init__(self, tmp: Path):
        self.secret = tmp / "outside" / "secret.txt"
        self.secret.parent.mkdir()
        self.secret.write_text(SECRET)
        self.allowed = tmp / "allowed"
        (self.allowed / "blocked").mkdir(parents=True)
        (self.allowed / "public.txt").write_text("public")
        (self.allowed / ".env").write_text(SECRET)
        (self.allowed / "blocked" / "inner.txt").write_text(SECRET)
        (self.allowed / "to_secret").symlink_to(self.secret)
        (tmp / "allowed_sibling").mkdir()  # shares the allowed dir's name as a prefix
        (tmp / "allowed_sibling" / "secret.txt").write_text(SECRET)
        self.calls: list[Any] = []

        def echo_file(path: str | None) -> str:
            self.calls.append(path)
            return Path(path).read_text() if path else ""

        def echo_json(value: Any) -> Any:
            self.calls.append(value)
            return value

        def publish(name: str) -> str:
            return name  # a path chosen by the caller, sent to a File output

        with gr.Blocks() as demo:
            upload = gr.File(label="Upload", file_types=[".txt", ".png", ".html", ".svg"])
            data = gr.JSON(label="Data")
            name = gr.Textbox(label="Name")
            text = gr.Textbox(label="Text")
            out_file = gr.File(label="Out")
            gr.Button("Read").click(echo_file, upload, text, api_name="read")
            gr.Button("Echo").click(echo_json, data, data, api_name="echo")
            gr.Button("Publish").click(publish, name, out_file, api_name="publish")
        demo.queue(default_concurrency_limit=None)
        self.demo = demo
        demo.launch(
            prevent_thread_lock=True,
            quiet=True,
            allowed_paths=[str(self.allowed)],
            blocked_paths=[str(self.allowed / "BLOCKED")],  # blocked wins, case-insensitively
        )
        assert demo.local_url is not None
        self.url = demo.local_url.rstrip("/")
        self.upload_dir = demo.files.upload_dir
        self.root = demo.files.root


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    live = App(tmp_path_factory.mktemp("policy"))
    yield live
    live.demo.close()


def raw_get(app: App, raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """GET with the path sent byte for byte (no client-side `..` or `%` normalisation)."""
    parts = urllib.parse.urlsplit(app.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def assert_nothing_leaked(app: App, body: bytes | str) -> None:
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    assert SECRET not in text
    assert "root:x:0:0" not in text  # /etc/passwd
    assert str(app.secret.parent) not in text
    assert str(app.root) not in text  # error messages never name the server's directories


def upload(app: App, name: str, content: bytes) -> str:
    response = httpx.post(f"{app.url}/gradio_api/upload", files={"files": (name, content)})
    assert response.status_code == 200, response.text
    return response.json()[0]


def quoted(path: str | Path) -> str:
    return urllib.parse.quote(str(path), safe="/")


def served_attacks(app: App) -> list[tuple[str, str, set[int]]]:
    """(case, path after `file=`, accepted refusal codes): Gradio's advisories and more."""
    up = str(app.upload_dir)
    secret = str(app.secret)
    return [
        ("CVE-2023-34239 absolute system file", "/etc/passwd", {403}),
        ("CVE-2023-34239 absolute secret", quoted(secret), {403}),
        ("CVE-2021-43831 relative path from cwd", "pyproject.toml", {403}),
        ("PR 5510 missing file outside roots answers like a present one", "/nope/x.txt", {403}),
        ("PR 4370 dot-dot from the upload dir", f"{up}/../../../../etc/passwd", {403}),
        ("dot-dot to the secret", f"{up}/../../{quoted(secret)}", {403}),
        ("CVE-2023-51449 encoded slash", f"{up}/..%2f..%2f..%2fetc/passwd", {403}),
        ("CVE-2023-51449 encoded dots", f"{up}/%2e%2e/%2e%2e/%2e%2e/etc/passwd", {403}),
        ("double-encoded traversal", f"{up}/%252e%252e/%252e%252e/etc/passwd", {403}),
        ("double-encoded slash", f"{up}/..%252f..%252f..%252fetc/passwd", {403}),
        ("triple-encoded traversal", f"{up}/%25252e%25252e/etc/passwd", {403}),
        (
            "CVE-2023-51449 SSRF via file=http",
            f"http://127.0.0.1:{app.url.rsplit(':', 1)[1]}/config",
            {400},
        ),
        ("13593 open redirect via file=https", "https://example.com/x.png", {400}),
        ("CVE-2024-47167 metadata URL", "http://169.254.169.254/latest/meta-data/", {400}),
        ("file URL", "file:///etc/passwd", {400}),
        ("NUL byte", f"{quoted(secret)}%00.png", {400}),
        ("CVE-2026-28414 Windows drive path", "C:%5CWindows%5Cwin.ini", {400}),
        ("Windows drive with slashes", "C:/Windows/win.ini", {400}),
        ("CVE-2026-28414 backslash-rooted path", "%5Cetc%5Cpasswd", {400}),
        ("backslash traversal", f"{up}%5C..%5C..%5Cetc%5Cpasswd", {400}),
        ("UNC path", "%5C%5Cserver%5Cshare%5Cx.txt", {400}),
        ("CVE-2026-28415 leading slashes", "////etc/passwd", {400}),
        ("symlink in an allowed dir pointing outside", quoted(app.allowed / "to_secret"), {403}),
        ("blocked path wins over allowed", quoted(app.allowed / "blocked" / "inner.txt"), {403}),
        (
            "Gradio 5 audit: is_in_or_equal prefix bypass",
            f"{app.allowed}_sibling/secret.txt",
            {403},
        ),
        ("dotfile in an allowed dir", quoted(app.allowed / ".env"), {403}),
        ("the app dir itself", quoted(app.root), {403}),
        ("partial uploads are never served", quoted(app.root / "partial"), {403}),
        ("dot-dot inside an allowed dir", f"{app.allowed}/blocked/../public.txt", {403}),
    ]


def test_every_served_attack_is_refused_on_every_file_route(app: App) -> None:
    for case, path, codes in served_attacks(app):
        for route in FILE_ROUTES:
            status, _, body = raw_get(app, route + path)
            assert status in codes, f"{case} via {route}: {status} {body[:200]!r}"
            assert_nothing_leaked(app, body)


def test_an_upload_dir_symlink_pointing_outside_is_refused(app: App) -> None:
    path = Path(upload(app, "note.txt", b"hello"))
    link = path.parent / "escape.txt"
    link.symlink_to(app.secret)
    for route in FILE_ROUTES:
        status, _, body = raw_get(app, route + quoted(link))
        assert status == 403
        assert_nothing_leaked(app, body)


def test_refusals_for_missing_and_present_outside_files_look_the_same(app: App) -> None:
    present = raw_get(app, "/gradio_api/file=" + quoted(app.secret))
    missing = raw_get(app, "/gradio_api/file=" + quoted(app.secret.with_name("none.txt")))
    assert present[0] == missing[0] == 403
    assert present[2] == missing[2]


def test_proxy_route_does_not_exist(app: App) -> None:
    """CVE-2023-34239 / CVE-2026-28416: there is no URL proxy to abuse."""
    status, _, body = raw_get(app, "/gradio_api/proxy=http://127.0.0.1/")
    assert status == 404
    assert_nothing_leaked(app, body)


def test_allowed_files_are_served_and_missing_allowed_files_are_404(app: App) -> None:
    status, headers, body = raw_get(app, "/gradio_api/file=" + quoted(app.allowed / "public.txt"))
    assert (status, body) == (200, b"public")
    assert headers["x-content-type-options"] == "nosniff"
    status, _, body = raw_get(app, "/gradio_api/file=" + quoted(app.allowed / "missing.txt"))
    assert status == 404
    assert_nothing_leaked(app, body)
    status, _, _ = raw_get(app, "/gradio_api/file=" + quoted(app.upload_dir / "nope" / "x.png"))
    assert status == 404


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<script>alert(1)</script>"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("app.js", b"alert(1)"),
        ("data.xml", b"<x/>"),
    ],
)
def test_active_content_is_served_as_an_attachment(app: App, name: str, content: bytes) -> None:
    path = upload(app, name, content)
    status, headers, body = raw_get(app, "/gradio_api/file=" + quoted(path))
    assert status == 200 and body == content
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment")
    assert headers["x-content-type-options"] == "nosniff"


def test_upload_names_cannot_traverse(app: App) -> None:
    """Gradio stored `../../evil.py` as `<upload>/<sha>/evil.py`; so must we."""
    for name in ("../../evil.py", "..\\..\\evil.py", "/etc/evil.py", "C:\\evil.py"):
        path = Path(upload(app, name, b"x = 1"))
        assert path.parent.parent == app.upload_dir
        assert path.name == "evil.py"


def forged_inputs(app: App, link: Path) -> list[tuple[str, Any]]:
    """(case, FileData payload) for a File input: each must be refused before `fn` runs."""

    def fd(path: str, **extra: Any) -> dict[str, Any]:
        return {"path": path, "meta": FILE_DATA_META, **extra}

    return [
        ("CVE-2024-1728 forged /etc/passwd", fd("/etc/passwd")),
        ("CVE-2024-1728 forged secret", fd(str(app.secret), orig_name="secret.txt")),
        ("symlink in the upload dir pointing outside", fd(str(link))),
        ("traversal out of the upload dir", fd(f"{app.upload_dir}/../../etc/passwd")),
        ("CVE-2024-47167 SSRF path", fd("http://169.254.169.254/latest/meta-data/")),
        ("file URL path", fd("file:///etc/passwd")),
        ("NUL byte", fd(f"{app.secret}\x00.txt")),
        ("Windows path", fd("C:\\Windows\\win.ini")),
        ("no meta marker: not a file at all", {"path": str(app.secret)}),
        ("wrong meta marker", {"path": str(app.secret), "meta": {"_type": "other"}}),
        ("not a dict", str(app.secret)),
        ("blocked file via allowed dir", fd(str(app.allowed / "blocked" / "inner.txt"))),
    ]


@pytest.fixture(scope="module")
def escape_link(app: App) -> Path:
    path = Path(upload(app, "base.txt", b"base"))
    link = path.parent / "link.txt"
    link.symlink_to(app.secret)
    return link


def test_forged_file_inputs_are_refused_through_the_queue(app: App, escape_link: Path) -> None:
    """Raw /queue/join + /queue/data, as an attacker would send them."""
    for case, payload in forged_inputs(app, escape_link):
        app.calls.clear()
        session = uuid.uuid4().hex
        join = httpx.post(
            f"{app.url}/gradio_api/queue/join",
            json={"data": [payload], "fn_index": 0, "session_hash": session},
        )
        assert join.status_code == 200
        lines = []
        url = f"{app.url}/gradio_api/queue/data?session_hash={session}"
        with httpx.stream("GET", url, timeout=10) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                if '"process_completed"' in line:
                    break
        done = json.loads(lines[-1].removeprefix("data: "))
        assert done["msg"] == "process_completed" and done["success"] is False, case
        assert done["output"]["error"], case  # a reason is given
        assert app.calls == [], f"{case}: fn ran with {app.calls}"
        assert_nothing_leaked(app, "\n".join(lines))


def test_forged_file_inputs_are_refused_through_run_and_call(app: App, escape_link: Path) -> None:
    for case, payload in forged_inputs(app, escape_link):
        app.calls.clear()
        run = httpx.post(f"{app.url}/gradio_api/run/read", json={"data": [payload]})
        assert run.status_code >= 400, case
        assert_nothing_leaked(app, run.text)
        start = httpx.post(f"{app.url}/gradio_api/call/read", json={"data": [payload]})
        result = httpx.get(f"{app.url}/gradio_api/call/read/{start.json()['event_id']}")
        assert "event: error" in result.text, case
        assert_nothing_leaked(app, result.text)
        assert app.calls == [], f"{case}: fn ran with {app.calls}"


def test_file_data_nested_in_any_input_passes_the_policy(app: App) -> None:
    """A FileData inside a JSON input is checked too; a dict without the marker is data."""
    forged = {"nested": [{"path": str(app.secret), "meta": FILE_DATA_META}]}
    app.calls.clear()
    run = httpx.post(f"{app.url}/gradio_api/run/echo", json={"data": [forged]})
    assert run.status_code >= 400
    assert app.calls == []
    assert_nothing_leaked(app, run.text)
    plain = {"path": str(app.secret), "note": 1}
    run = httpx.post(f"{app.url}/gradio_api/run/echo", json={"data": [plain]})
    assert run.json()["data"] == [plain]  # just data: nothing was read or served


def test_handle_file_inputs_reach_fn_as_upload_paths(app: App) -> None:
    """The client uploads a copy; the function sees a path in the upload dir, never the original."""
    client = Client(app.url, verbose=False)
    app.calls.clear()
    assert client.predict(handle_file(str(app.secret)), api_name="/read") == SECRET
    assert Path(app.calls[0]).parent.parent == app.upload_dir


def test_functions_cannot_publish_arbitrary_server_files(app: App) -> None:
    """CVE-2024-47868: a caller-chosen path returned to a File output is refused unless it
    lies in the current directory, the temp dir or allowed_paths (and is neither hidden nor
    blocked), Gradio's rule for outputs."""
    client = Client(app.url, verbose=False)
    refused_paths = (
        "/etc/passwd",
        "/proc/self/environ",
        str(app.allowed / "blocked" / "inner.txt"),
        str(app.allowed / ".env"),
    )
    for path in refused_paths:
        with pytest.raises(AppError) as refused:
            client.predict(path, api_name="/publish")
        assert_nothing_leaked(app, str(refused.value))
    published = client.predict(str(app.allowed / "public.txt"), api_name="/publish")
    assert Path(published).read_text() == "public"


def test_cwd_hidden_files_are_never_published(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".secret").write_text(SECRET)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(SECRET)
    for hidden in (".secret", ".git/config"):
        with pytest.raises(gr.Error, match="hidden or outside") as refused:
            app.demo.files.cache_file(hidden)
        assert SECRET not in refused.value.message


def test_cve_2024_1727_cross_site_uploads_to_a_local_app_are_refused(app: App) -> None:
    files = {"files": ("a.txt", b"csrf")}
    for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example"):
        response = httpx.post(
            f"{app.url}/gradio_api/upload", files=files, headers={"Origin": origin}
        )
        assert response.status_code == 403, origin
    for origin in (app.url, "http://localhost:9999"):
        response = httpx.post(
            f"{app.url}/gradio_api/upload", files=files, headers={"Origin": origin}
        )
        assert response.status_code == 200, origin
