"""Layout blocks' own options: Tab(render_children=, scale=), Row(height=, max_height=,
min_height=)."""

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


def test_row_sizes_and_tab_scale_reach_the_config_and_are_checked():
    with gr.Blocks():
        row = gr.Row(height=120, max_height="50vh")
        with gr.Tabs():
            wide = gr.Tab("Wide", scale=2)
            locked = gr.Tab("Locked", interactive=False)
    props = row.config()["props"]
    assert (props["height"], props["max_height"], props["min_height"]) == (120, "50vh", None)
    assert wide.config()["props"]["scale"] == 2
    assert locked.config()["props"]["interactive"] is False
    with pytest.raises(TypeError, match=r"Row\(height=...\)"):
        gr.Row(height=[1], render=False)
    with pytest.raises(TypeError, match=r"Tab\(scale=...\)"):
        gr.Tab("x", scale="big", render=False)
    with pytest.raises(TypeError):
        gr.Row(no_such_option=True, render=False)
