"""Gradio's JavaScript client (`@gradio/client` from npm, run by Node) against a live webui app.

The package is installed once into pytest's cache folder at a pinned version. The tests skip,
saying why, where Node or npm is missing or npm cannot reach its registry.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import webui as gr

CLIENT_VERSION = "2.7.0"
DRIVER = Path(__file__).with_name("js_client_driver.mjs")
# npm's error codes for a registry it cannot reach: no DNS, refused, reset, timed out, no route.
UNREACHABLE = frozenset(
    [
        "ENOTFOUND",
        "EAI_AGAIN",
        "ECONNREFUSED",
        "ECONNRESET",
        "ETIMEDOUT",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "E503",
    ]
)


def install_client(folder: Path) -> Path:
    """Installs @gradio/client at CLIENT_VERSION under `folder` (once); returns its ES module."""
    package = folder / "node_modules" / "@gradio" / "client"
    if not (package / "package.json").exists() or (
        json.loads((package / "package.json").read_text())["version"] != CLIENT_VERSION
    ):
        (folder / "package.json").write_text(
            json.dumps({"private": True, "dependencies": {"@gradio/client": CLIENT_VERSION}})
        )
        command = [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--fetch-retries=1",
            "--fetch-timeout=30000",
        ]
        try:
            done = subprocess.run(
                command, cwd=folder, capture_output=True, text=True, timeout=180, check=False
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install @gradio/client@{CLIENT_VERSION} timed out (no registry?)")
        if done.returncode != 0:
            code = re.search(r"npm error code (\S+)", done.stderr)
            if code and code.group(1) in UNREACHABLE:
                reason = next((ln for ln in done.stderr.splitlines() if "request to" in ln), "")
                pytest.skip(f"npm cannot reach its registry ({code.group(1)}): {reason}")
            pytest.fail(f"npm install @gradio/client@{CLIENT_VERSION} failed: {done.stderr}")
    return package / "dist" / "index.js"


@pytest.fixture(scope="session")
def client_module(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed; Gradio's JavaScript client needs Node and npm")
    name = f"gradio-js-client-{CLIENT_VERSION}"
    # pytest's cache keeps the install between runs; without it (-p no:cacheprovider), one run
    cache = getattr(pytestconfig, "cache", None)  # absent, not None, under -p no:cacheprovider
    folder = cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)
    return install_client(folder)


def build_app() -> gr.Blocks:
    def greet(name: str, times: float, loud: bool, choice: str) -> str:
        text = f"hi {name} " * int(times) + choice
        return text.upper() if loud else text

    def stream(text: str):
        out = ""
        for ch in text:
            out += ch
            yield out

    def refuse(text: str) -> str:
        raise gr.Error(f"refused {text}")

    with gr.Blocks() as demo:
        name = gr.Textbox(label="Name")
        times = gr.Number(label="Times")
        loud = gr.Checkbox(label="Loud")
        choice = gr.Dropdown(["a", "b"], label="Choice")
        text = gr.Textbox(label="Text")
        out = gr.Textbox(label="Out")
        gr.Button("Greet").click(greet, [name, times, loud, choice], out, api_name="greet")
        gr.Button("Stream").click(stream, text, out, api_name="stream")
        gr.Button("Refuse").click(refuse, name, out, api_name="refuse")
    return demo


@pytest.fixture
def run_case(client_module: Path, serve: Callable[[gr.Blocks], str]) -> Callable[[str], dict]:
    """Runs one case of the driver against a fresh app; returns its outcome."""
    url = serve(build_app())

    def run(case: str) -> dict:
        done = subprocess.run(
            ["node", str(DRIVER), str(client_module), url, case],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def test_predict_with_positional_args(run_case: Callable[[str], dict]) -> None:
    assert run_case("positional") == {"value": ["hi al hi al b"]}


def test_predict_with_keyword_args(run_case: Callable[[str], dict]) -> None:
    assert run_case("keyword") == {"value": ["HI AL A"]}


def test_submit_streams_every_message_in_order(run_case: Callable[[str], dict]) -> None:
    # one message per yield, then the completed call repeats the last value, as with Gradio
    assert run_case("stream") == {"value": [["a"], ["ab"], ["abc"], ["abc"]]}


def test_gr_error_rejects_with_its_message(run_case: Callable[[str], dict]) -> None:
    assert run_case("error") == {"rejected": "refused x"}
