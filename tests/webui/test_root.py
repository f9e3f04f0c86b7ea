"""Root: the tree's ids and the queue settings `Blocks.queue()` keeps."""

from __future__ import annotations

import pytest

import webui as gr


def test_queue_settings_chain_and_are_checked():
    demo = gr.Blocks()
    assert demo.queue(default_concurrency_limit=4, max_size=8) is demo
    assert demo.queue_settings.default_concurrency_limit == 4
    assert demo.queue_settings.max_size == 8
    with pytest.raises(ValueError, match="default_concurrency_limit"):
        demo.queue(default_concurrency_limit=0)


def test_a_status_update_period_is_refused_not_ignored():
    demo = gr.Blocks()
    demo.queue(status_update_rate="auto")
    with pytest.raises(ValueError, match="status_update_rate=2"):
        demo.queue(status_update_rate=2)


def test_blocks_take_ids_in_order_from_their_root():
    with gr.Blocks() as demo:
        first = gr.Textbox()
        with gr.Row() as row:
            second = gr.Number()
    assert demo.id == 0
    assert (first.id, row.id, second.id) == (1, 2, 3)
    assert demo.blocks[second.id] is second
    assert second.root is demo
