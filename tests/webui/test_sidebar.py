"""gr.Sidebar: a layout block with Gradio's props that holds components."""

from __future__ import annotations

import pytest

import webui as gr


def test_sidebar_holds_components_and_has_gradios_props() -> None:
    with (
        gr.Blocks() as demo,
        gr.Sidebar(label="Tools", open=False, position="right", width=240) as side,
    ):
        box = gr.Textbox()
    assert side.children == [box]
    props = side.props()
    assert props["open"] is False and props["position"] == "right" and props["width"] == 240
    assert side.block_type == "sidebar"
    demo.close()


def test_sidebar_refuses_a_bad_position() -> None:
    with gr.Blocks(), pytest.raises(ValueError, match="left"):
        gr.Sidebar(position="top")
