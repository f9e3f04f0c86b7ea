"""The block tree: rendering into the open layout, and unrender() taking a block out again."""

from __future__ import annotations

import webui as gr


def test_unrender_takes_a_block_out_of_its_app() -> None:
    with gr.Blocks() as demo, gr.Row() as row:
        box = gr.Textbox()
        other = gr.Number()
    old_id = box.id
    assert box.unrender() is box
    assert box._id is None and box.root is None
    assert row.children == [other] and old_id not in demo.blocks
    assert box.unrender() is box  # not rendered: nothing to do
    with demo:
        box.render()
    assert box.root is demo and demo.children[-1] is box and demo.blocks[box.id] is box
