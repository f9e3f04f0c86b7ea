"""Layout blocks' own options: Tab(render_children=)."""

from __future__ import annotations

import pytest

import webui as gr


def test_tab_render_children_reaches_the_config_and_must_be_a_bool():
    with gr.Blocks() as demo, gr.Tabs():
        with gr.Tab("One") as one:
            gr.Textbox()
        with gr.Tab("Two", render_children=True) as two:
            gr.Textbox()
    assert one.config()["props"]["render_children"] is False  # Gradio's default
    assert two.config()["props"]["render_children"] is True
    assert demo.blocks[two.id] is two
    with gr.Blocks(), pytest.raises(TypeError, match="render_children"):
        gr.Tab("Three", render_children="yes")  # type: ignore[arg-type]
