"""Chatbot payloads and ChatInterface: the /chat API through gradio_client, and the page wiring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.testclient import TestClient

import webui as gr
from webui.errors import Error


def text(role: str, content: str) -> dict[str, Any]:
    return {
        "role": role,
        "metadata": None,
        "content": [{"type": "text", "text": content}],
        "options": None,
    }


def test_chatbot_postprocess_normalises_messages(tmp_path) -> None:
    with gr.Blocks():
        chatbot = gr.Chatbot()
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert chatbot.postprocess(history) == [text("user", "hi"), text("assistant", "hello")]
    assert chatbot.postprocess(None) == []
    (tmp_path / "a.png").write_bytes(b"png")
    file_message = {
        "role": "assistant",
        "content": {"path": str(tmp_path / "a.png"), "alt_text": "a"},
    }
    part = chatbot.postprocess([file_message])[0]["content"][0]
    assert part["type"] == "file" and part["alt_text"] == "a"
    assert part["file"]["orig_name"] == "a.png" and part["file"]["path"] != str(tmp_path / "a.png")


def test_chatbot_accepts_pairs_and_converts_them() -> None:
    pairs = [["hi", "hello"], ["bye", None]]
    assert gr.Chatbot().postprocess(pairs) == [
        text("user", "hi"),
        text("assistant", "hello"),
        text("user", "bye"),
    ]
    wire = gr.Chatbot().postprocess(pairs)
    assert gr.Chatbot(type="tuples").preprocess(wire) == [["hi", "hello"], ["bye", None]]


def test_chatbot_preprocess_gives_fn_plain_text() -> None:
    wire = [text("user", "hi"), {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]
    assert gr.Chatbot().preprocess(wire) == [
        {"role": "user", "metadata": None, "content": "hi", "options": None},
        {"role": "assistant", "metadata": None, "content": "yo", "options": None},
    ]


def test_chatbot_bad_messages_are_clear_errors() -> None:
    chatbot = gr.Chatbot()
    with pytest.raises(Error, match="'role' and 'content'"):
        chatbot.postprocess([{"text": "hi"}])
    with pytest.raises(Error, match="role must be one of"):
        chatbot.postprocess([{"role": "robot", "content": "x"}])
    with pytest.raises(Error, match="must be \\[user, assistant\\]"):
        chatbot.postprocess([["a", "b", "c"]])
    upload = {"role": "user", "content": [{"type": "file", "file": {"path": "/etc/passwd"}}]}
    with pytest.raises(Error, match="text messages only"):
        chatbot.preprocess([upload])


def echo(message: str, history: list[dict[str, Any]]) -> str:
    """Echo with the number of earlier messages."""
    return f"{len(history)}:{message}"


def spell(message: str, history: list[dict[str, Any]], suffix: str) -> Iterator[str]:
    out = ""
    for ch in message + suffix:
        out += ch
        yield out


def test_chat_endpoint_keeps_history_per_client(serve: Callable[[gr.Blocks], str]) -> None:
    url = serve(gr.ChatInterface(echo, title="Echo"))
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    assert first.predict("hi", api_name="/echo") == "0:hi"  # named after fn, as in Gradio
    assert first.predict("again", api_name="/echo") == "2:again"
    assert second.predict("hi", api_name="/echo") == "0:hi"
    info = first.view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/echo"]
    chat = info["named_endpoints"]["/echo"]
    assert [p["parameter_name"] for p in chat["parameters"]] == ["message"]
    assert chat["description"] == "Echo with the number of earlier messages."


def test_streaming_chat_with_additional_inputs(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.ChatInterface(spell, additional_inputs=[gr.Textbox("!", label="Suffix")])
    client = Client(serve(demo), verbose=False)
    job = client.submit("hey", "?", api_name="/spell")
    seen = list(job)
    assert seen[-1] == "hey?" and all("hey?".startswith(s) for s in seen)
    assert client.predict("ab", api_name="/spell") == "ab!"  # the default of the extra input
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/spell"]
    assert [p["parameter_name"] for p in info["parameters"]] == ["message", "suffix"]


def test_async_chat_functions(serve: Callable[[gr.Blocks], str]) -> None:
    async def reply(message: str, history: list[dict[str, Any]]) -> str:
        await asyncio.sleep(0)
        return message.upper()

    async def stream(message: str, history: list[dict[str, Any]]) -> AsyncIterator[str]:
        for i in range(1, len(message) + 1):
            yield message[:i]

    assert Client(serve(gr.ChatInterface(reply)), verbose=False).predict(
        "hi", api_name="/reply"
    ) == ("HI")
    client = Client(serve(gr.ChatInterface(stream)), verbose=False)
    assert list(client.submit("abc", api_name="/stream"))[-1] == "abc"


def test_tuples_history_and_bad_replies(serve: Callable[[gr.Blocks], str]) -> None:
    def pairs(message: str, history: list[list[str]]) -> str:
        return repr(history)

    client = Client(serve(gr.ChatInterface(pairs, type="tuples")), verbose=False)
    assert client.predict("a", api_name="/pairs") == "[]"
    assert client.predict("b", api_name="/pairs") == "[['a', '[]']]"
    bad = Client(serve(gr.ChatInterface(lambda m, h: 42)), verbose=False)
    with pytest.raises(AppError, match="returns a string"):
        bad.predict("x", api_name="/lambda")


def test_page_wiring_in_the_config() -> None:
    demo = gr.ChatInterface(spell, additional_inputs=gr.Textbox("!"), examples=["hello"])
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    kinds = {c["id"]: c["type"] for c in config["components"]}
    chatbot = next(c for c in config["components"] if c["type"] == "chatbot")
    assert chatbot["props"]["examples"] == [{"text": "hello"}]
    deps = config["dependencies"]
    submit = next(d for d in deps if d["targets"] == [[demo.textbox.id, "submit"]])
    assert [kinds[i] for i in submit["inputs"]] == ["textbox", "chatbot", "textbox"]
    assert [kinds[i] for i in submit["outputs"]] == ["textbox", "chatbot"]
    assert submit["types"]["generator"] and submit["api_visibility"] == "undocumented"
    click = next(d for d in deps if d["targets"] == [[demo.submit_button.id, "click"]])
    stop = next(d for d in deps if d["targets"] == [[demo.stop_button.id, "click"]])
    assert stop["backend_fn"] is False and stop["types"]["cancel"] is True
    assert sorted(stop["cancels"]) == sorted([submit["id"], click["id"]])
    assert next(d for d in deps if d["api_name"] == "spell")["api_visibility"] == "public"


def test_endpoint_names_and_options_as_gradios(serve: Callable[[gr.Blocks], str]) -> None:
    def respond(message: str, history: list[dict[str, Any]]) -> str:
        return message

    demo = gr.ChatInterface(  # options webui lacks, at Gradio's defaults: they change nothing
        respond,
        autofocus=True,
        save_history=False,
        editable=False,
        cache_examples=None,
        show_progress="minimal",
        flagging_mode="never",
        flagging_options=["Like", "Dislike"],
    )
    for option, value in (("save_history", True), ("editable", True), ("autofocus", False)):
        with pytest.raises(TypeError, match=rf"ChatInterface\({option}={value}\) is not supported"):
            gr.ChatInterface(respond, **{option: value})
    with pytest.raises(TypeError, match="flagging_mode='manual'"):
        gr.ChatInterface(respond, flagging_mode="manual")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(info) == ["/respond"]  # the page's own events never take fn's name
    assert [r["component"] for r in info["/respond"]["returns"]] == ["Json"]  # Gradio's spelling
    assert info["/respond"]["parameters"][0]["label"] == ""  # Gradio's chat textbox label
    assert client.predict("hi", api_name="/respond") == "hi"
    named = gr.ChatInterface(respond, api_name="chat", api_description="Say it back")
    client = Client(serve(named), verbose=False)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(info) == ["/chat"] and info["/chat"]["description"] == "Say it back"
    assert client.predict("yo", api_name="/chat") == "yo"
    hidden = gr.ChatInterface(respond, api_visibility="private")
    assert (
        Client(serve(hidden), verbose=False).view_api(print_info=False, return_format="dict")[
            "named_endpoints"
        ]
        == {}
    )
    with pytest.raises(ValueError, match="flagging_mode must be 'never' or 'manual'"):
        gr.ChatInterface(respond, flagging_mode="auto")  # type: ignore[arg-type]


def test_page_submit_streams_into_the_chatbot() -> None:
    demo = gr.ChatInterface(spell, additional_inputs=gr.Textbox("!"))
    submit = next(d for d in demo.dependencies if d.targets == [(demo.textbox.id, "submit")])
    with TestClient(demo.app) as http:
        body = {
            "data": ["ab", [text("user", "x"), text("assistant", "y")], "?"],
            "fn_index": submit.id,
            "session_hash": "page",
        }
        assert http.post("/gradio_api/queue/join", json=body).status_code == 200
        stream = http.get("/gradio_api/queue/data", params={"session_hash": "page"}).text
    messages = [line for line in stream.splitlines() if line.startswith("data:")]
    first = next(m for m in messages if '"process_generating"' in m)
    assert '"data": ["", [' in first and '"text": "ab"' in first  # box cleared, message shown
    completed = next(m for m in messages if '"process_completed"' in m)
    assert '"text": "ab?"' in completed and completed.count('"role"') == 4


def test_file_replies_are_served_from_the_cache(
    serve: Callable[[gr.Blocks], str], tmp_path
) -> None:
    """A file a chat function returns is copied into the app's cache, so clients can fetch it."""
    report = tmp_path / "report.txt"
    report.write_text("quarterly figures")

    def reply(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            text("assistant", "here it is"),
            {"role": "assistant", "content": {"path": str(report)}},
        ]

    with gr.Blocks() as demo:
        chat = gr.Chatbot()
        gr.Button().click(reply, chat, chat, api_name="reply")
    url = serve(demo)
    messages = Client(url, verbose=False).predict([], api_name="/reply")
    part = messages[1]["content"][0]
    served = part["file"]["path"] if isinstance(part.get("file"), dict) else part["file"]
    assert served != str(report), "the reply must point into the cache, not at the original"
    with open(served) as f:  # gradio_client downloaded it through the file route
        assert f.read() == "quarterly figures"
