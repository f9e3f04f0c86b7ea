"""The playground at `/`, driven by the real gradio_client against the server's own URL."""

from __future__ import annotations

import ast
import itertools
import time
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import webui
from tests.jaxserve.server.conftest import MODEL_NAME, start_server

pytestmark = pytest.mark.cpu

UI_DIR = Path(__file__).resolve().parents[3] / "jaxserve" / "ui"
# temperature, top_p, top_k, max_tokens, seed, stop, ignore_eos
GREEDY = (0.0, 1.0, 0, 8, None, "", True)


@pytest.fixture(scope="module")
def pages(server_llm):
    server = start_server(server_llm, webui=True, api_key=None)
    client = Client(server.url, verbose=False)
    yield server, client
    client.close()
    server.stop()


def reply_text(conversation: list[dict]) -> str:
    last = conversation[-1]
    assert last["role"] == "assistant"
    return "".join(part["text"] for part in last["content"] if part["type"] == "text")


def aborted(server) -> float:
    with server.http() as http:
        text = http.get("/metrics").text
    key = f'jaxserve:request_success_total{{model_name="{MODEL_NAME}",finished_reason="abort"}}'
    (line,) = [line for line in text.splitlines() if line.startswith(key)]
    return float(line.rsplit(" ", 1)[1])


def test_chat_streams_a_growing_reply_with_a_footer(pages):
    server, client = pages
    job = client.submit("hello", [], "Be brief.", *GREEDY, api_name="/chat")
    steps = [conversation for _, conversation in job]
    assert [m["role"] for m in steps[0]] == ["user"]
    replies = [reply_text(c) for c in steps[1:]]
    assert len(replies) >= 2
    assert all(b.startswith(a) for a, b in itertools.pairwise(replies))
    final = steps[-1][-1]
    assert "8 reply tokens" in reply_text(steps[-1]) and "tokens/s" in reply_text(steps[-1])
    assert final["metadata"]["footer"] in reply_text(steps[-1])
    # The footer stays out of what the model sees on the next turn.
    following = client.predict("more", steps[-1], "", *GREEDY, api_name="/chat")[1]
    assert [m["role"] for m in following] == ["user", "assistant", "user", "assistant"]
    server.wait_idle()


def test_sampling_controls_change_the_reply(pages):
    server, client = pages

    def complete(temperature: float, seed: int | None) -> str:
        controls = (temperature, 1.0, 0, 12, seed, "", True)
        text, footer = client.predict("the quick brown", *controls, api_name="/complete")
        assert "12 reply tokens" in footer
        return text

    greedy = complete(0.0, None)
    assert complete(0.0, None) == greedy
    seeded = complete(1.0, 7)
    assert complete(1.0, 7) == seeded
    assert seeded != greedy
    server.wait_idle()


def test_cancel_aborts_the_engine_request(pages, monkeypatch):
    server, client = pages
    # Steps of 20 ms: the 50 tokens take a second, so the cancel lands mid-generation however
    # fast the tiny model runs on this machine.
    engine = server.llm.engine
    step = engine.step

    def slow_step():
        time.sleep(0.02)
        return step()

    monkeypatch.setattr(engine, "step", slow_step)
    before = aborted(server)
    job = client.submit("the", 1.0, 1.0, 0, 50, 3, "", True, api_name="/complete")
    deadline = time.monotonic() + 30
    while not (job.outputs() and job.outputs()[-1][0]):  # some text has streamed
        assert time.monotonic() < deadline and not job.done()
        time.sleep(0.01)
    job.cancel()
    server.wait_idle()
    assert aborted(server) == before + 1


def test_errors_show_on_the_page_and_the_server_lives(pages):
    server, client = pages
    with pytest.raises(AppError, match="top_p"):
        client.predict("hi", [], "", 0.0, 0.0, 0, 8, None, "", False, api_name="/chat")
    with pytest.raises(AppError, match=r"max_model_len|too long|exceeds"):
        client.predict("word " * 80, [], "", *GREEDY, api_name="/chat")
    assert client.predict("hello", *GREEDY, api_name="/complete")[0]
    server.wait_idle()


def test_api_routes_still_answer(pages):
    server, _ = pages
    with server.http() as http:
        assert http.get("/v1/models").json()["data"][0]["id"] == MODEL_NAME
        assert http.get("/health").status_code == 200
        assert http.get("/v1/nothing").json()["error"]["code"] is not None
        assert http.post("/health").status_code == 405
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        config = http.get("/config").json()
        names = {d.get("api_name") for d in config["dependencies"]}
        assert {"chat", "complete"} <= names
        assert set(http.get("/gradio_api/info").json()["named_endpoints"]) == {
            "/chat",
            "/complete",
            "/dashboard",
        }
        for asset in ("/static/app.js", "/theme.css"):
            assert http.get(asset).status_code == 200, asset


def test_with_an_api_key_the_playground_asks_for_it(server_llm):
    """The pages generate in-process, so with an api_key they sit behind a login whose
    password is that key: every route of theirs needs the session, and gradio_client logs in."""
    server = start_server(server_llm, webui=True, api_key="sk-pages")
    try:
        with server.http() as http:  # the client's Bearer header is for the API, not the pages
            http.headers.pop("Authorization")
            page = http.get("/")
            assert page.status_code == 200 and "/static/app.js" not in page.text  # the login
            for path in ("/config", "/gradio_api/info", "/gradio_api/queue/join"):
                assert http.get(path).status_code in (401, 405), path
                assert http.post(path, json={}).status_code == 401, path
            wrong = http.post("/login", data={"username": "me", "password": "sk-wrong"})
            assert wrong.status_code == 400 and not wrong.cookies
            assert http.post("/v1/completions", json={"prompt": "hi"}).status_code == 401
        with pytest.raises(ValueError, match="login"):
            Client(server.url, auth=("me", "sk-wrong"), verbose=False)
        client = Client(server.url, auth=("me", "sk-pages"), verbose=False)
        try:
            text, footer = client.predict("Once", *GREEDY, api_name="/complete")
        finally:
            client.close()
        assert text.strip() and "8 reply tokens" in footer
    finally:
        server.stop()


def test_the_pages_use_only_webui_public_api():
    public = set(webui.__all__)
    files = sorted(UI_DIR.rglob("*.py"))  # every module of jaxserve.ui, present and future
    assert {"playground.py", "dashboard.py", "chat.py"} <= {path.name for path in files}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("webui"), f"{path}: from {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "webui":
                        assert (alias.name, alias.asname) == ("webui", "gr"), path
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "gr"
            ):
                assert node.attr in public, f"{path}: gr.{node.attr} is not public"


def test_model_messages_read_the_chatbots_parts_and_drop_footers():
    """The Chatbot hands the playground Gradio 6's messages (content as a list of parts)."""
    from jaxserve.ui.playground import FOOTER_KEY, model_messages

    history = [
        {"role": "user", "metadata": None, "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "metadata": {FOOTER_KEY: "8 tokens"},
            "content": [{"type": "text", "text": "hello\n\n8 tokens"}],
        },
    ]
    assert model_messages(history, "be brief") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    with pytest.raises(webui.Error, match="not text"):
        model_messages([{"role": "user", "content": [{"type": "file", "file": {}}]}], None)


def test_a_reply_keeps_its_indentation_in_the_chatbot():
    """The playground sends replies as text parts: a bare string would be dedented (Gradio's
    Chatbot cleans a string's indentation), mangling code a model writes."""
    from jaxserve.ui.playground import verbatim

    code = "def f():\n    return 1\n"
    with webui.Blocks():
        chat = webui.Chatbot()
    [kept, cleaned] = chat.postprocess(
        [
            {"role": "assistant", "content": verbatim(code)},
            {"role": "assistant", "content": "    indented\n    text"},
        ]
    )
    assert kept["content"] == [{"type": "text", "text": code}]
    assert cleaned["content"][0]["text"] == "indented\ntext"
