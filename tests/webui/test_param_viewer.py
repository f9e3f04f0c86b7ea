"""gr.ParamViewer: a dict of parameters shown as is, Gradio's props and API info."""

from __future__ import annotations

import pytest

import webui as gr

ROUND = {
    "number": {"type": "int | float", "description": "The number to round", "default": None},
    "ndigits": {"type": "int", "description": "Digits to [keep](#h-ndigits)", "default": "0"},
}


def test_param_viewer_keeps_the_parameters_and_its_props() -> None:
    with gr.Blocks():
        viewer = gr.ParamViewer(ROUND, linkify=["int"], anchor_links="round", max_height=300)
    config = viewer.config()
    assert config["type"] == "paramviewer"
    props = config["props"]
    assert props["value"] == ROUND
    assert (props["language"], props["header"], props["linkify"]) == (
        "python",
        "Parameters",
        ["int"],
    )
    assert (props["anchor_links"], props["max_height"]) == ("round", 300)
    assert config["api_info"] == {"type": {}, "description": "any valid json"}
    assert viewer.preprocess(ROUND) == ROUND and viewer.postprocess(None) == {}
    assert gr.ParamViewer(render=False).value == {}


def test_param_viewer_refuses_what_it_cannot_show() -> None:
    with pytest.raises(ValueError, match="language"):
        gr.ParamViewer(ROUND, language="rust", render=False)
    with pytest.raises(ValueError, match="dict of parameter"):
        gr.ParamViewer(["number"], render=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'number' must be a dict"):
        gr.ParamViewer({"number": "int"}, render=False)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="linkify"):
        gr.ParamViewer(ROUND, linkify=[1], render=False)  # type: ignore[list-item]
