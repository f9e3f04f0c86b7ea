"""gr.Dialogue: lines or text in, formatted as Gradio's, the page's format/unformat, API info."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client

import webui as gr

LINES = [
    {"speaker": "Speaker 1", "text": "Hello, how are you?"},
    {"speaker": "Speaker 2", "text": "I'm fine, thank you!"},
]


def test_text_type_formats_lines_as_gradio() -> None:
    plain = gr.Dialogue(speakers=["Speaker 1", "Speaker 2"], render=False)
    assert (
        plain.preprocess(LINES)
        == "[Speaker 1] Hello, how are you?\n[Speaker 2] I'm fine, thank you!"
    )
    assert plain.preprocess("already text") == "already text"
    assert plain.preprocess([{"speaker": "Speaker 1", "text": ""}]) == ""
    custom = gr.Dialogue(formatter=lambda s, t: f"{s}: {t}", separator=" | ", render=False)
    assert (
        custom.preprocess(LINES)
        == "Speaker 1: Hello, how are you? | Speaker 2: I'm fine, thank you!"
    )
    as_list = gr.Dialogue(type="list", render=False)
    assert as_list.preprocess(LINES) == LINES and as_list.postprocess(LINES) == LINES
    with pytest.raises(gr.Error, match="line"):
        plain.preprocess([{"speaker": "x"}])


def test_format_and_unformat_for_the_page() -> None:
    dialogue = gr.Dialogue(speakers=["Ada", "Bob"], render=False)
    text = dialogue.format(LINES)
    assert text.startswith("[Speaker 1] Hello")
    assert dialogue.unformat({"text": "[Bob] hi\n\nno speaker here\n"}) == [
        {"speaker": "Bob", "text": "hi"},
        {"speaker": "Ada", "text": "no speaker here"},  # the first speaker by default
    ]
    assert dialogue.unformat({"text": "  "}) == []
    parsed = gr.Dialogue(
        unformatter=lambda line, default: {"speaker": "X", "text": line.upper()}, render=False
    )
    assert parsed.unformat({"text": "a\nb"}) == [
        {"speaker": "X", "text": "A"},
        {"speaker": "X", "text": "B"},
    ]


def test_props_as_gradio_and_refusals() -> None:
    with gr.Blocks():
        shown = gr.Dialogue(LINES, speakers=["Speaker 1"], tags=["(laughs)"], interactive=True)
        output = gr.Dialogue()
    props = shown.config()["props"]
    assert props["value"] == LINES and props["tags"] == ["(laughs)"]
    assert props["label"] == "Dialogue" and props["ui_mode"] == "both"
    assert props["info"].startswith("Type colon")
    assert output.props()["info"] is None  # no typing hint where nobody types (Gradio's rule)
    for bad in (
        {"separator": " "},
        {"type": "dict"},
        {"ui_mode": "chat"},
        {"buttons": ["copy", "share"]},
        {"max_lines": 0},
    ):
        with pytest.raises(ValueError):
            gr.Dialogue(render=False, **bad)  # type: ignore[arg-type]


def test_client_sees_gradio_types(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        dialogue = gr.Dialogue(LINES, speakers=["Speaker 1", "Speaker 2"], interactive=True)
        out = gr.Textbox()
        dialogue.submit(lambda x: x, dialogue, out, api_name="said")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/said"]
    parameter = info["parameters"][0]
    assert parameter["component"] == "Dialogue"
    assert parameter["python_type"]["type"] == "list[dict(speaker: str, text: str)] | str"
    assert client.predict(LINES, api_name="/said").startswith("[Speaker 1] Hello")
