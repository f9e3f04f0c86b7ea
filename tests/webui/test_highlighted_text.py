"""gr.HighlightedText: spans and NER dicts to HighlightedTextData, combine_adjacent, API info."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client

import webui as gr
from webui.components.highlighted_text import HIGHLIGHTED_TEXT_SCHEMA


def test_spans_become_tokens() -> None:
    text = gr.HighlightedText(render=False)
    assert text.postprocess([("The", None), ("fox", "noun"), ("ran", 0.5)]) == [
        {"token": "The", "class_or_confidence": None},
        {"token": "fox", "class_or_confidence": "noun"},
        {"token": "ran", "class_or_confidence": 0.5},
    ]
    assert text.postprocess(None) is None


def test_entities_dict_and_combine_adjacent() -> None:
    ner = {"text": "Hi Ada Lovelace", "entities": [{"entity": "PER", "start": 3, "end": 15}]}
    assert gr.HighlightedText(render=False).postprocess(ner) == [
        {"token": "Hi ", "class_or_confidence": None},
        {"token": "Ada Lovelace", "class_or_confidence": "PER"},
        {"token": "", "class_or_confidence": None},
    ]
    combined = gr.HighlightedText(combine_adjacent=True, adjacent_separator=" ", render=False)
    spans = [("a", "X"), ("b", "X"), ("", None), ("c", None), ("d", "X")]
    assert [t["token"] for t in combined.postprocess(spans)] == ["a b", "c", "d"]
    with pytest.raises(gr.Error, match="entities"):
        combined.postprocess({"text": "no entities key"})


def test_preprocess_passes_token_dicts() -> None:
    text = gr.HighlightedText(render=False)
    payload = [{"token": "a", "class_or_confidence": "X"}, {"token": "b"}]
    assert text.preprocess(payload) == [
        {"token": "a", "class_or_confidence": "X"},
        {"token": "b", "class_or_confidence": None},
    ]
    with pytest.raises(gr.Error):
        text.preprocess(["a"])


def test_api_info_is_gradios_highlighted_text_data() -> None:
    text = gr.HighlightedText(color_map={"X": "red"}, show_legend=True, render=False)
    assert text.api_info() == HIGHLIGHTED_TEXT_SCHEMA
    assert HIGHLIGHTED_TEXT_SCHEMA["title"] == "HighlightedTextData"
    token = HIGHLIGHTED_TEXT_SCHEMA["$defs"]["HighlightedToken"]
    assert token["required"] == ["token"]
    assert text.own_props()["color_map"] == {"X": "red"} and text.own_props()["show_legend"]


def test_round_trip(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        words = gr.Textbox()
        marked = gr.HighlightedText(label="marked")
        words.submit(
            lambda s: [(w, "W" if w.istitle() else None) for w in s.split()],
            words,
            marked,
            api_name="mark",
        )
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/mark"]
    assert info["returns"][0]["component"] == "Highlightedtext"
    assert info["returns"][0]["python_type"]["type"] == (
        "list[dict(token: str, class_or_confidence: str | float | None)]"
    )
    assert client.predict("Hi there", api_name="/mark") == [
        {"token": "Hi", "class_or_confidence": "W"},
        {"token": "there", "class_or_confidence": None},
    ]
