"""gr.Draggable: a layout with an orientation, its children in order."""

from __future__ import annotations

import pytest

import webui as gr


def test_draggable_holds_its_children() -> None:
    with gr.Blocks() as demo:
        with gr.Draggable(orientation="row") as row:
            a = gr.Textbox()
            with gr.Group() as group:
                gr.Number()
        with gr.Draggable() as column:
            pass
    assert row.children == [a, group]
    assert row.config()["type"] == "draggable"
    assert row.props()["orientation"] == "row" and column.props()["orientation"] == "column"
    assert demo.layout()["children"][0]["children"][1]["id"] == group.id


def test_draggable_refuses_other_orientations() -> None:
    with gr.Blocks(), pytest.raises(ValueError, match="orientation"):
        gr.Draggable(orientation="grid")
