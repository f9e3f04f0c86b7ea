"""Chatbot: the normalised message form on the wire and for `fn`, thoughts, feedback, props."""

from __future__ import annotations

from typing import Any

import pytest
from gradio_client.utils import json_schema_to_python_type
from starlette.testclient import TestClient

import webui as gr
from webui.errors import Error
from webui.files import FileAccessError


def text(role: str, content: str, metadata: Any = None, options: Any = None) -> dict[str, Any]:
    return {
        "role": role,
        "metadata": metadata,
        "content": [{"type": "text", "text": content}],
        "options": options,
    }


def test_postprocess_normalises_messages_and_serves_files(tmp_path) -> None:
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


def test_chat_messages_keep_metadata_and_options_as_gradio_sends_them() -> None:
    thought = gr.ChatMessage(
        "  - step one\n  - step two", metadata={"title": "Thinking", "id": 1, "duration": 2}
    )
    reply = gr.ChatMessage("done", options=[{"value": "again", "label": "Again"}])
    wire = gr.Chatbot().postprocess([text("user", "q"), thought, reply])
    assert wire[0] == text("user", "q")  # a normalised message passes through unchanged
    # A string loses its common indent (Gradio's cleandoc); an int duration becomes a float.
    assert wire[1] == text(
        "assistant", "- step one\n- step two", {"title": "Thinking", "id": 1, "duration": 2.0}, []
    )
    assert wire[2] == text("assistant", "done", {}, [{"value": "again", "label": "Again"}])
    noted = {"role": "assistant", "content": "x", "metadata": {"parent_id": 1, "note": "n"}}
    assert gr.Chatbot().postprocess([noted])[0]["metadata"] == {"parent_id": 1, "note": "n"}


def test_bad_messages_are_clear_errors() -> None:
    chatbot = gr.Chatbot()
    with pytest.raises(Error, match="'role' and 'content'"):
        chatbot.postprocess([{"text": "hi"}])
    with pytest.raises(Error, match="role must be one of"):
        chatbot.postprocess([{"role": "robot", "content": "x"}])
    with pytest.raises(Error, match="must be \\[user, assistant\\]"):
        chatbot.postprocess([["a", "b", "c"]])
    with pytest.raises(Error, match="status is 'pending' or 'done'"):
        chatbot.postprocess([gr.ChatMessage("x", metadata={"title": "t", "status": "late"})])
    with pytest.raises(Error, match="options are"):
        chatbot.postprocess([{"role": "user", "content": "x", "options": ["yes"]}])
    with pytest.raises(Error, match="Invalid message"):
        chatbot.postprocess([{"role": "user", "content": 42}])


def test_preprocess_gives_fn_gradios_normalised_form() -> None:
    wire = [text("user", "hi"), {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]
    assert gr.Chatbot().preprocess(wire) == [
        {"role": "user", "metadata": None, "content": [{"text": "hi", "type": "text"}],
         "options": None},
        {"role": "assistant", "metadata": None, "content": [{"text": "yo", "type": "text"}],
         "options": None},
    ]  # fmt: skip
    pairs = [["hi", "hello"], ["bye", None]]
    assert gr.Chatbot().postprocess(pairs) == [
        text("user", "hi"),
        text("assistant", "hello"),
        text("user", "bye"),
    ]
    wire = gr.Chatbot().postprocess(pairs)
    assert gr.Chatbot(type="tuples").preprocess(wire) == [["hi", "hello"], ["bye", None]]


def test_preprocess_checks_file_parts_against_the_path_policy(tmp_path) -> None:
    with gr.Blocks():
        chatbot = gr.Chatbot()

    def sent(file: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [{"type": "file", "file": file}]}]

    with pytest.raises(FileAccessError, match="file access denied"):
        chatbot.preprocess(sent({"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}))
    with pytest.raises(FileAccessError, match="takes a FileData dict"):
        chatbot.preprocess(sent({"path": "/etc/passwd"}))
    note = tmp_path / "note.txt"
    note.write_text("hi")
    served = chatbot.postprocess([{"role": "user", "content": {"path": str(note)}}])
    cached = served[0]["content"][0]["file"]
    back = chatbot.preprocess(served)[0]["content"][0]
    assert back["type"] == "file" and back["file"]["path"] == cached["path"]


def test_a_component_in_a_message_is_sent_by_name_value_and_props(tmp_path) -> None:
    (tmp_path / "r.txt").write_text("report")
    with gr.Blocks():
        chatbot = gr.Chatbot()
    shown = gr.File(value=str(tmp_path / "r.txt"), label="Report")
    part = chatbot.postprocess([{"role": "assistant", "content": shown}])[0]["content"][0]
    assert part["type"] == "component" and part["component"] == "file"
    assert isinstance(part["value"], list) and part["value"][0]["orig_name"] == "r.txt"
    assert part["constructor_args"] == {"label": "Report", "render": False}
    assert part["props"]["label"] == "Report" and part["props"]["value"] == part["value"]
    assert shown.constructor_args["value"] == str(tmp_path / "r.txt")  # the app's is untouched


def test_schema_types_like_gradios_and_props() -> None:
    assert json_schema_to_python_type(gr.Chatbot().api_info()) == gr.Chatbot.python_type
    assert "metadata: dict(title: str, id: int | str" in gr.Chatbot.python_type
    with pytest.raises(ValueError, match="editable must be one of"):
        gr.Chatbot(editable="mine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="buttons are among"):
        gr.Chatbot(buttons=["copy", "download"])
    props = gr.Chatbot(editable="user", buttons=["copy"], feedback_value=["Like"]).own_props()
    assert props["editable"] == "user" and props["buttons"] == ["copy"]
    assert props["feedback_value"] == ["Like"] and props["feedback_options"] == ["Like", "Dislike"]


def test_an_update_sets_feedback_value_as_gradio_sends_it() -> None:
    def liked() -> dict[str, Any]:
        history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
        return gr.update(value=history, feedback_value=["Like"])

    with gr.Blocks() as demo:
        chatbot = gr.Chatbot()
        chatbot.like(lambda: None)
        gr.Button().click(liked, outputs=chatbot, api_name="liked")
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
        body = {"data": [], "fn_index": 1, "session_hash": "s"}
        assert http.post("/gradio_api/queue/join", json=body).status_code == 200
        stream = http.get("/gradio_api/queue/data", params={"session_hash": "s"}).text
    props = next(c for c in config["components"] if c["type"] == "chatbot")["props"]
    assert props["likeable"] is True
    assert '"feedback_value": ["Like"]' in stream and '"text": "a"' in stream


def test_examples_show_their_files_and_icons_from_the_cache(tmp_path) -> None:
    (tmp_path / "cat.png").write_bytes(b"png")
    with gr.Blocks() as demo:
        gr.Chatbot(
            examples=[{"text": "Describe", "files": [str(tmp_path / "cat.png")], "icon": None}]
        )
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    example = next(c for c in config["components"] if c["type"] == "chatbot")["props"]["examples"]
    assert example[0]["text"] == "Describe" and example[0]["files"][0]["orig_name"] == "cat.png"
    assert example[0]["files"][0]["path"] != str(tmp_path / "cat.png")


def test_avatars_and_example_icons_are_served_or_linked(tmp_path) -> None:
    (tmp_path / "me.png").write_bytes(b"png")
    url = "https://example.com/bot.png"
    with gr.Blocks() as demo:
        gr.Chatbot(avatar_images=(tmp_path / "me.png", url), examples=[{"text": "a", "icon": url}])
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    props = next(c for c in config["components"] if c["type"] == "chatbot")["props"]
    user, bot = props["avatar_images"]
    assert user["orig_name"] == "me.png" and user["path"] != str(tmp_path / "me.png")
    assert bot["url"] == url and props["examples"][0]["icon"]["url"] == url  # never fetched
    with pytest.raises(ValueError, match="avatar_images is \\(user image, assistant image\\)"):
        gr.Chatbot(avatar_images=("one.png",))  # type: ignore[arg-type]


def test_gradios_chatbot_module_names_the_message_types() -> None:
    from webui.components import chatbot

    assert chatbot.Chatbot is gr.Chatbot and chatbot.ChatMessage is gr.ChatMessage
    assert chatbot.MessageDict is gr.MessageDict
    message: chatbot.MessageDict = {"role": "user", "content": "hi"}
    assert gr.Chatbot().postprocess([message]) == [text("user", "hi")]
    assert set(chatbot.MetadataDict.__annotations__) == {
        "title", "id", "parent_id", "log", "duration", "status",
    }  # fmt: skip
    assert chatbot.OptionDict.__required_keys__ == frozenset({"value"})
