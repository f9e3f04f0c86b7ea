"""launch(ssl_certfile=..., ssl_keyfile=...): HTTPS, a Secure session cookie, files checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import webui as gr
from webui.tls import TLSFiles

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="making a test certificate needs openssl")


def make_certificate(folder: Path, name: str, *, password: str | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and its key (encrypted with `password`)."""
    assert OPENSSL is not None
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    encryption = ["-passout", f"pass:{password}"] if password else ["-noenc"]
    command = [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run(
        [*command, *encryption],
        check=True,
        capture_output=True,
    )
    return key, cert


def reverse_app() -> gr.Blocks:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text[::-1], box, box, api_name="reverse")
    return demo


def test_https_with_auth_sets_a_secure_cookie(tmp_path: Path) -> None:
    key, cert = make_certificate(tmp_path, "server")
    demo = reverse_app()
    try:
        _, url, _ = demo.launch(
            prevent_thread_lock=True,
            quiet=True,
            auth=("ada", "lovelace"),
            ssl_keyfile=str(key),
            ssl_certfile=str(cert),
            ssl_verify=False,
        )
        assert url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=False) as http:
            assert http.get(f"{url}config").status_code == 401
            reply = http.post(f"{url}login", data={"username": "ada", "password": "lovelace"})
            assert reply.status_code == 200
            assert "secure" in reply.headers["set-cookie"].lower().split("; ")
        client = Client(url, auth=("ada", "lovelace"), ssl_verify=False, verbose=False)
        try:
            assert client.predict("abc", api_name="/reverse") == "cba"
        finally:
            client.close()
    finally:
        demo.close()


def test_an_encrypted_key_needs_its_password(tmp_path: Path) -> None:
    key, cert = make_certificate(tmp_path, "locked", password="s3cret")
    with pytest.raises(ValueError, match="pass ssl_keyfile_password"):
        TLSFiles.from_launch(key, cert, None)  # refused, never a prompt on the terminal
    with pytest.raises(ValueError, match="could not be loaded"):
        TLSFiles.from_launch(key, cert, "wrong")
    files = TLSFiles.from_launch(key, cert, "s3cret")
    assert files is not None and files.keyfile_password == "s3cret"


def test_files_that_do_not_load_are_refused_before_serving(tmp_path: Path) -> None:
    key, _ = make_certificate(tmp_path, "one")
    _, other_cert = make_certificate(tmp_path, "two")
    demo = reverse_app()
    with pytest.raises(ValueError, match="could not be loaded"):
        demo.launch(prevent_thread_lock=True, quiet=True, ssl_keyfile=key, ssl_certfile=other_cert)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    with pytest.raises(ValueError, match="could not be loaded"):
        demo.launch(prevent_thread_lock=True, quiet=True, ssl_certfile=not_pem)
    with pytest.raises(TypeError, match="must be a path"):
        TLSFiles.from_launch(None, 42, None)  # type: ignore[arg-type]
    assert demo.local_url is None
    assert TLSFiles.from_launch(None, None, None) is None
