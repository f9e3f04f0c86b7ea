"""The playground of a vision-language model (a tiny Qwen2.5-VL): images attached to a chat
message reach the model, show in the user's turn, and go with later turns; uploads that are
not images are refused with a message that says why; text-only models keep their Textbox."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import webui as gr
from jaxserve import LLM, SamplingParams
from jaxserve.server.serving import OpenAIServing
from jaxserve.ui import ChatApp
from jaxserve.ui.playground import Playground, model_messages
from tests.jaxserve.server.conftest import MODEL_NAME, LiveServer, start_server

pytestmark = pytest.mark.cpu

PROMPT = "describe the image"
PROMPT_PART = {"type": "text", "text": PROMPT}
MAX_TOKENS = 12
# temperature, top_p, top_k, max_tokens, seed, stop, ignore_eos
GREEDY = (0.0, 1.0, 0, MAX_TOKENS, None, "", True)


def picture(folder: Path, name: str, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (56, 84, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / name)
    return folder / name


def data_url(path: Path) -> str:
    return f"data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"


def image_part(path: Path) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_url(path)}}


@pytest.fixture(scope="module")
def vlm(vlm_llms) -> LLM:
    return vlm_llms("qwen2_5_vl")


@pytest.fixture(scope="module")
def pages(vlm) -> Iterator[LiveServer]:
    server = start_server(vlm, webui=True, api_key=None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playground(pages, vlm) -> Playground:
    """The page's events over the live server's engine (its thread serves any event loop)."""
    serving = OpenAIServing(
        pages.app.state.engine,
        vlm.tokenizer,
        model_name=MODEL_NAME,
        vocab_size=vlm.config.vocab_size,
        max_model_len=vlm.engine.max_model_len,
        prompt_processor=vlm.prompt_processor,
    )
    return Playground(serving)


@pytest.fixture(scope="module")
def chatbot() -> gr.Chatbot:
    with gr.Blocks():
        return gr.Chatbot(type="messages")


def as_webui_hands_it(chatbot: gr.Chatbot, conversation: list[dict]) -> list[dict]:
    """The conversation shown, then sent back by the page as the next event's history."""
    return chatbot.preprocess(chatbot.postprocess(conversation))


def chat(playground: Playground, message: Any, history: list[dict]) -> list[list[dict]]:
    """Every conversation the event streams; the message box is cleared at each."""

    async def collect() -> list[list[dict]]:
        steps = [step async for step in playground.chat(message, history, "", *GREEDY)]
        assert all(cleared == "" for cleared, _ in steps)
        return [conversation for _, conversation in steps]

    return asyncio.run(collect())


def reply(conversation: list[dict]) -> str:
    """The last reply's text without its footer."""
    last = conversation[-1]
    assert last["role"] == "assistant"
    text = "".join(part["text"] for part in last["content"])
    return text.removesuffix(last["metadata"]["footer"]).removesuffix("\n\n")


def offline(vlm: LLM, messages: list[dict]) -> str:
    params = SamplingParams(temperature=0, max_tokens=MAX_TOKENS, ignore_eos=True)
    (output,) = vlm.chat(messages, params, use_tqdm=False)
    return output.outputs[0].text


def test_an_attached_image_reaches_the_model_and_shows_in_the_turn(
    playground, pages, vlm, chatbot, tmp_path
):
    cat = picture(tmp_path, "cat.png", 1)
    steps = chat(playground, {"text": PROMPT, "files": [str(cat)]}, [])
    pages.wait_idle()
    (user,) = steps[0]
    assert user["role"] == "user"
    assert [part.get("path") for part in user["content"]] == [str(cat), None]
    assert user["content"][1] == {"type": "text", "text": PROMPT}
    # The Chatbot shows the image as a file part (copied into webui's cache), then the text.
    shown = chatbot.postprocess(steps[-1])[0]["content"]
    assert [part["type"] for part in shown] == ["file", "text"]
    assert shown[0]["file"]["mime_type"] == "image/png"
    assert Path(shown[0]["file"]["path"]).read_bytes() == cat.read_bytes()
    final = steps[-1]
    assert f"{MAX_TOKENS} reply tokens" in final[-1]["metadata"]["footer"]
    with_image = offline(vlm, [{"role": "user", "content": [image_part(cat), PROMPT_PART]}])
    assert reply(final) == with_image
    # The reply depends on the image, so the equality above says the image got there.
    assert offline(vlm, [{"role": "user", "content": PROMPT}]) != with_image


def test_a_follow_up_turn_sends_the_image_again(playground, pages, vlm, chatbot, tmp_path):
    cat = picture(tmp_path, "cat.png", 2)
    first = chat(playground, {"text": PROMPT, "files": [str(cat)]}, [])[-1]
    history = as_webui_hands_it(chatbot, first)
    answer = reply(first)
    # The image comes back from webui's cache as the same bytes, the footer is left out.
    assert model_messages(history, None) == [
        {"role": "user", "content": [image_part(cat), PROMPT_PART]},
        {"role": "assistant", "content": answer},
    ]
    following = chat(playground, {"text": "what is this", "files": []}, history)[-1]
    pages.wait_idle()
    assert [m["role"] for m in following] == ["user", "assistant", "user", "assistant"]
    assert following[2]["content"] == [{"type": "text", "text": "what is this"}]
    earlier = [
        {"role": "user", "content": [image_part(cat), PROMPT_PART]},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "what is this"},
    ]
    expected = offline(vlm, earlier)
    assert reply(following) == expected
    without_image = [{"role": "user", "content": PROMPT}, *earlier[1:]]
    assert offline(vlm, without_image) != expected


def test_an_image_alone_is_a_message(playground, pages, vlm, tmp_path):
    cat = picture(tmp_path, "cat.png", 3)
    steps = chat(playground, {"text": "", "files": [str(cat)]}, [])
    pages.wait_idle()
    assert [part.get("type") for part in steps[0][0]["content"]] == [None]  # the image only
    assert reply(steps[-1]) == offline(vlm, [{"role": "user", "content": [image_part(cat)]}])


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("notes.txt", b"just text", r"notes\.txt is not an image \(text/plain\)"),
        ("broken.png", b"not a png at all", r"^image 1: .*decode"),
        (None, None, r"cannot read the attachment gone\.png"),
    ],
    ids=["not-an-image", "undecodable", "missing"],
)
def test_an_upload_that_is_not_a_readable_image_is_refused(
    playground, pages, tmp_path, name, data, says
):
    path = tmp_path / (name or "gone.png")
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(gr.Error, match=says) as refused:
        chat(playground, {"text": PROMPT, "files": [str(path)]}, [])
    assert str(tmp_path) not in str(refused.value)
    pages.wait_idle()


def test_the_chat_api_takes_an_uploaded_image(pages, vlm, tmp_path):
    """gradio_client uploads the file into webui's cache; `/chat` gets its checked path."""
    cat = picture(tmp_path, "cat.png", 4)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    client = Client(pages.url, verbose=False, download_files=False)
    try:
        message = {"text": PROMPT, "files": [handle_file(str(cat))]}
        _, conversation = client.predict(message, [], "", *GREEDY, api_name="/chat")
        with pytest.raises(AppError, match="Invalid file type"):  # webui's own check
            refused = {"text": PROMPT, "files": [handle_file(str(notes))]}
            client.predict(refused, [], "", *GREEDY, api_name="/chat")
    finally:
        client.close()
    pages.wait_idle()
    shown = conversation[0]["content"]
    assert [part["type"] for part in shown] == ["file", "text"]
    assert shown[0]["file"]["orig_name"] == "cat.png"
    expected = offline(vlm, [{"role": "user", "content": [image_part(cat), PROMPT_PART]}])
    assert "".join(p["text"] for p in conversation[-1]["content"]).startswith(expected)


def message_box(config: dict) -> dict:
    (box,) = [c for c in config["components"] if c["props"].get("elem_id") == "message"]
    return box


def test_the_message_box_takes_images_only_for_a_vision_language_model(pages, server_llm):
    with pages.http() as http:
        box = message_box(http.get("/config").json())
    assert box["type"] == "multimodaltextbox"
    assert box["props"]["file_types"] == ["image"]
    assert box["props"]["file_count"] == "multiple"
    text_only = start_server(server_llm, webui=True, api_key=None)
    try:
        with text_only.http() as http:
            assert message_box(http.get("/config").json())["type"] == "textbox"
            info = http.get("/gradio_api/info").json()["named_endpoints"]["/chat"]
    finally:
        text_only.stop()
    assert info["parameters"][0]["python_type"]["type"] == "str"


def test_the_in_process_chat_app_of_a_vision_language_model_takes_images(vlm):
    app = ChatApp(vlm, dashboard=False)
    (box,) = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == "message"]
    assert isinstance(box, gr.MultimodalTextbox)
