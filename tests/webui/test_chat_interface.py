"""ChatInterface: the chat API through gradio_client, and the page's event chains as the page
runs them (each event's follow-ups in turn, values set by events firing `change`)."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from starlette.testclient import TestClient

import webui as gr
import webui.routes

UPDATE = "__type__"


@pytest.fixture(autouse=True)
def _streams_close_promptly(request: pytest.FixtureRequest, monkeypatch) -> None:
    """`Page` reads each event's stream to its close_stream, which the server sends a grace
    after the session goes idle (for gradio_client's one long-lived reader). A page that joins
    and then reads needs no grace: a second per event adds up over the event chains here.
    Tests that serve gradio_client keep the real grace (for their page parts, they shorten
    it themselves once the client is done)."""
    if "serve" not in request.fixturenames:
        monkeypatch.setattr(webui.routes, "CLOSE_GRACE_S", 0.02)


def text(role: str, content: str) -> dict[str, Any]:
    return {
        "role": role,
        "metadata": None,
        "content": [{"type": "text", "text": content}],
        "options": None,
    }


class Page:
    """What the page does with /config: fires events, runs their follow-ups, keeps values."""

    def __init__(self, http: TestClient, session: str = "page") -> None:
        self.http, self.session = http, session
        config = http.get("/config").json()
        self.deps = sorted(config["dependencies"], key=lambda d: d["id"])
        self.values = {c["id"]: c["props"].get("value") for c in config["components"]}
        self.props = {c["id"]: c["props"] for c in config["components"]}
        self.updates: dict[int, dict[str, Any]] = {}  # the last update of each block's props
        self.refused: list[Any] = []

    def fire(self, block_id: int, event: str, event_data: Any = None) -> None:
        for dep in self.deps:
            if [block_id, event] in dep["targets"]:
                self.run(dep, event_data)

    def run(self, dep: dict[str, Any], event_data: Any = None) -> None:
        if dep["js"] is not None and not dep["backend_fn"]:
            return  # runs in the browser only
        body = {
            "data": [self.values.get(i) for i in dep["inputs"]],
            "fn_index": dep["id"],
            "session_hash": self.session,
            "event_data": event_data,
        }
        joined = self.http.post("/gradio_api/queue/join", json=body)
        if joined.status_code != 200:
            self.refused.append(joined.json())
            return
        stream = self.http.get("/gradio_api/queue/data", params={"session_hash": self.session})
        messages = [
            json.loads(line[5:]) for line in stream.text.splitlines() if line[:5] == "data:"
        ]
        done = next(m for m in messages if m.get("msg") == "process_completed")
        if not done["success"]:
            raise AssertionError(done["output"])
        changed = self._apply(dep["outputs"], done["output"]["data"])
        for state_id in done["output"].get("changed_state_ids") or []:
            changed.append(state_id)
        for follow in self.deps:
            if follow["trigger_after"] == dep["id"]:
                self.run(follow)
        for block_id in changed:
            self.fire(block_id, "change")

    def _apply(self, outputs: list[int], data: list[Any]) -> list[int]:
        changed = []
        for block_id, payload in zip(outputs, data, strict=True):
            if isinstance(payload, dict) and payload.get(UPDATE) == "update":
                self.updates[block_id] = payload
                if "value" not in payload:
                    continue
                payload = payload["value"]
            if self.values.get(block_id) != payload:
                changed.append(block_id)
            self.values[block_id] = payload
        return changed


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
    assert [r["component"] for r in chat["returns"]] == ["Json"]  # Gradio's spelling


def test_streaming_chat_with_additional_inputs(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.ChatInterface(spell, additional_inputs=[gr.Textbox("!", label="Suffix")])
    client = Client(serve(demo), verbose=False)
    seen = list(client.submit("hey", "?", api_name="/spell"))
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


def test_page_submit_shows_the_message_then_the_growing_reply() -> None:
    seen: list[Any] = []

    def remember(message: str, history: list[dict[str, Any]], suffix: str) -> Iterator[str]:
        seen.append(history)
        yield from spell(message, history, suffix)

    demo = gr.ChatInterface(remember, additional_inputs=gr.Textbox("!"))
    with TestClient(demo.app) as http:
        page = Page(http)
        page.values[demo.textbox.id] = "ab"
        page.fire(demo.textbox.id, "submit")
        assert page.values[demo.chatbot.id] == [text("user", "ab"), text("assistant", "ab!")]
        assert page.updates[demo.textbox.id] == {UPDATE: "update", "value": None,
                                                 "interactive": True}  # fmt: skip
        page.values[demo.textbox.id] = "c"
        page.fire(demo.submit_button.id, "click")
    # The page's history is the Chatbot's: Gradio's normalised messages.
    assert seen[1] == [
        {"role": "user", "metadata": None, "content": [{"text": "ab", "type": "text"}],
         "options": None},
        {"role": "assistant", "metadata": None, "content": [{"text": "ab!", "type": "text"}],
         "options": None},
    ]  # fmt: skip
    assert page.values[demo.chatbot.id][-1] == text("assistant", "c!")


def test_page_wiring_and_options_in_the_config() -> None:
    demo = gr.ChatInterface(
        spell,
        additional_inputs=gr.Textbox("!"),
        examples=[["hello", None]],
        example_labels=["Say hello"],
        submit_btn="Send",
        stop_btn="Halt",
        show_progress="full",
        autofocus=True,
    )
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    props = {c["id"]: c["props"] for c in config["components"]}
    assert props[demo.chatbot.id]["examples"] == [{"text": "hello", "display_text": "Say hello"}]
    assert props[demo.submit_button.id]["value"] == "Send"
    assert props[demo.stop_button.id]["value"] == "Halt"
    assert "webui-chat-autofocus" in props[demo.textbox.id]["elem_classes"]
    deps = config["dependencies"]
    run = next(d for d in deps if d["api_name"] == "_submit_fn")
    assert run["show_progress"] == "full" and run["api_visibility"] == "undocumented"
    assert any(d["js"] and "focus()" in d["js"] for d in deps)
    stop = next(d for d in deps if d["targets"] == [[demo.stop_button.id, "click"]])
    retried = next(d for d in deps if d["api_name"] == "_submit_fn_1")  # retry's run
    assert stop["cancels"] == [run["id"], retried["id"]]
    quiet = gr.ChatInterface(echo, autofocus=False, submit_btn=False)
    assert quiet.submit_button is None and not quiet.stop_button.visible  # not streaming
    assert "webui-chat-autofocus" not in quiet.textbox.elem_classes


def test_validator_refuses_a_message_before_it_is_shown() -> None:
    def not_empty(message: str) -> dict[str, Any]:
        return gr.validate(message != "error", "Can't be error")

    demo = gr.ChatInterface(echo, validator=not_empty)
    with TestClient(demo.app) as http:
        page = Page(http)
        page.values[demo.textbox.id] = "error"
        page.fire(demo.textbox.id, "submit")
        assert page.values[demo.chatbot.id] == []
        assert "Can't be error" in json.dumps(page.refused)
        page.values[demo.textbox.id] = "fine"
        page.fire(demo.textbox.id, "submit")
        assert page.values[demo.chatbot.id][-1] == text("assistant", "0:fine")


def test_multimodal_messages_carry_text_and_files(
    serve: Callable[[gr.Blocks], str], tmp_path
) -> None:
    def describe(message: dict[str, Any], history: list[Any]) -> str:
        names = [p.rsplit("/", 1)[-1] for p in message["files"]]
        earlier = [len(m["content"]) if isinstance(m["content"], list) else 1 for m in history]
        return f"{message['text']} with {names} after {earlier}"

    demo = gr.ChatInterface(describe, multimodal=True, api_name="chat")
    assert isinstance(demo.textbox, gr.MultimodalTextbox) and demo.submit_button is None
    (tmp_path / "cat.txt").write_text("meow")
    client = Client(serve(demo), verbose=False)
    upload = {"text": "look", "files": [handle_file(str(tmp_path / "cat.txt"))]}
    assert client.predict(upload, api_name="/chat") == "look with ['cat.txt'] after []"
    # The user's message is one message in the history: its file, then its text.
    assert client.predict({"text": "more", "files": []}, api_name="/chat").endswith("[2, 1]")


def test_additional_outputs_get_the_rest_of_the_reply(
    serve: Callable[[gr.Blocks], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def chat(message: str, history: list[Any]) -> tuple[str, Any]:
        if message == "code":
            return "here", gr.Code(value="print(1)", language="python")
        return "ask for code", None

    with gr.Blocks() as demo:
        code = gr.Code(render=False)
        chat_ui = gr.ChatInterface(chat, additional_outputs=[code], api_name="chat")
        code.render()
    client = Client(serve(demo), verbose=False)
    assert client.predict("hi", api_name="/chat") == ("ask for code", None)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
    assert [r["component"] for r in info["returns"]] == ["Json", "Code"]
    monkeypatch.setattr(webui.routes, "CLOSE_GRACE_S", 0.02)  # the page's part: no grace
    with TestClient(demo.app) as http:
        page = Page(http)
        page.values[chat_ui.textbox.id] = "code"
        page.fire(chat_ui.textbox.id, "submit")
    assert page.updates[code.id]["value"] == "print(1)"
    assert page.values[chat_ui.chatbot.id][-1] == text("assistant", "here")
    with gr.Blocks() as wrong_demo:
        wrong = gr.ChatInterface(lambda m, h: "no tuple", additional_outputs=[gr.Code()])
    with TestClient(wrong_demo.app) as http:
        page = Page(http)
        page.values[wrong.textbox.id] = "x"
        with pytest.raises(AssertionError, match="additional_outputs"):
            page.fire(wrong.textbox.id, "submit")


def test_manual_flagging_logs_reactions(
    serve: Callable[[gr.Blocks], str], tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = gr.ChatInterface(
        echo, flagging_mode="manual", flagging_options=["Like", "Spam"], flagging_dir=tmp_path
    )
    assert demo.chatbot.feedback_options == ["Like", "Spam"]
    info = Client(serve(demo), verbose=False).view_api(print_info=False, return_format="dict")
    flag = info["named_endpoints"]["/flag"]
    assert [p["component"] for p in flag["parameters"]] == ["Chatbot"] and flag["returns"] == []
    monkeypatch.setattr(webui.routes, "CLOSE_GRACE_S", 0.02)  # the page's part: no grace
    with TestClient(demo.app) as http:
        page = Page(http)
        assert page.props[demo.chatbot.id]["likeable"] is True
        page.values[demo.textbox.id] = "hi"
        page.fire(demo.textbox.id, "submit")
        page.fire(demo.chatbot.id, "like", {"index": 1, "value": "0:hi", "liked": "Spam"})
        page.fire(demo.chatbot.id, "like", {"index": 1, "value": "0:hi", "liked": True})
    with open(tmp_path / "log.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["conversation", "index", "flag", "timestamp"]
    assert [row[1:3] for row in rows[1:]] == [["1", "Spam"], ["1", "Like"]]
    assert json.loads(rows[1][0])[1]["content"] == [{"text": "0:hi", "type": "text"}]
    monkeypatch.setenv("GRADIO_CHAT_FLAGGING_MODE", "manual")
    assert gr.ChatInterface(echo, flagging_dir=tmp_path).flagging_mode == "manual"


def test_apps_set_the_conversation_through_chatbot_value() -> None:
    with gr.Blocks() as demo:
        choice = gr.Radio(["Greeting", "Blank"])
        chat = gr.ChatInterface(echo, api_name="chat")

        def prefill(picked: str) -> list[dict[str, str]]:
            return [{"role": "user", "content": "Hi"}] if picked == "Greeting" else []

        choice.change(prefill, choice, chat.chatbot_value)
    with TestClient(demo.app) as http:
        page = Page(http)
        page.values[choice.id] = "Greeting"
        page.fire(choice.id, "change")
        assert page.values[chat.chatbot.id] == [text("user", "Hi")]
        page.values[chat.textbox.id] = "next"
        page.fire(chat.textbox.id, "submit")  # fn's history is the prefilled conversation
        assert page.values[chat.chatbot.id][-1] == text("assistant", "1:next")


def test_save_history_keeps_conversations_in_the_browser_state(tmp_path) -> None:
    demo = gr.ChatInterface(echo, save_history=True)
    with TestClient(demo.app) as http:
        page = Page(http)
        page.values[demo.textbox.id] = "first question here"
        page.fire(demo.textbox.id, "submit")
        saved = page.values[demo.saved_conversations.id]
        assert len(saved) == 1 and saved[0][1]["content"] == [{"text": "0:first question here",
                                                               "type": "text"}]  # fmt: skip
        listed = page.updates.get(demo.chat_history_dataset.id) or {}
        assert listed.get("samples") == [["first question here"]]
        page.fire(demo.new_chat_button.id, "click")
        assert page.values[demo.chatbot.id] == []
        page.values[demo.chat_history_dataset.id] = 0
        page.fire(demo.chat_history_dataset.id, "click")
        assert page.values[demo.chatbot.id][0] == text("user", "first question here")


def test_editing_a_message_answers_it_again() -> None:
    demo = gr.ChatInterface(echo, editable=True)
    assert demo.chatbot.editable == "user"
    with TestClient(demo.app) as http:
        page = Page(http)
        for message in ("one", "two"):
            page.values[demo.textbox.id] = message
            page.fire(demo.textbox.id, "submit")
        edited = page.values[demo.chatbot.id]
        edited[2] = text("user", "TWO")
        page.fire(demo.chatbot.id, "edit", {"index": 2, "value": "TWO", "previous_value": "two"})
    assert page.values[demo.chatbot.id] == [
        text("user", "one"),
        text("assistant", "0:one"),
        text("user", "TWO"),
        text("assistant", "2:TWO"),
    ]


def test_retry_undo_and_clear_from_the_chatbot() -> None:
    demo = gr.ChatInterface(echo)
    with TestClient(demo.app) as http:
        page = Page(http)
        assert page.props[demo.chatbot.id]["retryable"] and page.props[demo.chatbot.id]["clearable"]
        for message in ("one", "two"):
            page.values[demo.textbox.id] = message
            page.fire(demo.textbox.id, "submit")
        page.fire(demo.chatbot.id, "retry", {"index": 3, "value": "2:two"})
        assert page.values[demo.chatbot.id][2:] == [text("user", "two"),
                                                    text("assistant", "2:two")]  # fmt: skip
        assert len(page.values[demo.chatbot.id]) == 4  # answered again, not appended
        page.fire(demo.chatbot.id, "undo", {"index": 3, "value": "2:two"})
        assert page.values[demo.chatbot.id] == [text("user", "one"), text("assistant", "0:one")]
        assert page.values[demo.textbox.id] == "two"  # back in the box to edit
        page.values[demo.chatbot.id] = []  # the page empties the Chatbot, then fires clear
        page.fire(demo.chatbot.id, "clear")
        page.values[demo.textbox.id] = "fresh"
        page.fire(demo.textbox.id, "submit")
        assert page.values[demo.chatbot.id] == [text("user", "fresh"), text("assistant", "0:fresh")]


def test_examples_in_the_chatbot_run_or_show_their_cached_reply() -> None:
    calls: list[str] = []

    def count(message: str, history: list[Any]) -> str:
        calls.append(message)
        return f"#{len(calls)} {message}"

    example = {"index": 0, "value": {"text": "hello"}}
    for cache, expected_calls in ((False, 1), (True, 1)):
        calls.clear()
        demo = gr.ChatInterface(count, examples=["hello"], cache_examples=cache)
        with TestClient(demo.app) as http:  # caching (eager) runs fn when the app starts
            page = Page(http)
            page.fire(demo.chatbot.id, "example_select", example)
        assert page.values[demo.chatbot.id] == [text("user", "hello"),
                                                text("assistant", "#1 hello")]  # fmt: skip
        assert len(calls) == expected_calls
    only_fill = gr.ChatInterface(count, examples=["hello"], run_examples_on_click=False)
    with TestClient(only_fill.app) as http:
        page = Page(http)
        page.fire(only_fill.chatbot.id, "example_select", example)
    assert page.values[only_fill.textbox.id] == "hello" and page.values[only_fill.chatbot.id] == []


def test_examples_with_additional_inputs_show_as_a_table() -> None:
    demo = gr.ChatInterface(spell, additional_inputs=gr.Textbox("!"), examples=[["hi", "?"]])
    assert demo.chatbot.examples is None
    assert demo.examples_handler is not None and demo.examples_handler.dataset.visible


def test_additional_inputs_may_be_shortcuts(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.ChatInterface(spell, additional_inputs="text", additional_inputs_accordion="More")
    assert isinstance(demo.additional_inputs[0], gr.Textbox)
    accordion = demo.additional_inputs[0].root.blocks  # the shortcut is rendered in "More"
    assert any(getattr(b, "label", None) == "More" for b in accordion.values())
    client = Client(serve(demo), verbose=False)
    assert client.predict("ab", "?", api_name="/spell") == "ab?"


def test_a_chat_made_inside_blocks_shows_there(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo, gr.Column() as column:
        gr.Markdown("above")
        chat = gr.ChatInterface(
            echo, api_name="chat", chatbot=gr.Chatbot(label="Mine"), textbox=gr.Textbox()
        )
    assert chat.chatbot.root is demo and chat.chatbot.label == "Mine"
    # The given Chatbot and Textbox show inside the chat, not where they were made.
    assert chat.chatbot not in column.children and chat.textbox not in column.children
    assert Client(serve(demo), verbose=False).predict("x", api_name="/chat") == "0:x"


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="flagging_mode must be 'never' or 'manual'"):
        gr.ChatInterface(echo, flagging_mode="auto")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="show_progress must be one of"):
        gr.ChatInterface(echo, show_progress="loud")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="example_labels needs one entry per example"):
        gr.ChatInterface(echo, examples=["a", "b"], example_labels=["A"])
    with pytest.raises(TypeError, match="textbox must be a Textbox or MultimodalTextbox"):
        gr.ChatInterface(echo, textbox=gr.Number())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="additional_outputs must be components"):
        gr.ChatInterface(echo, additional_outputs=["code"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must be a list of lists"):
        gr.ChatInterface(spell, additional_inputs=gr.Textbox(), examples=["a"])
