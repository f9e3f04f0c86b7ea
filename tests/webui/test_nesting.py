"""`demo.render()` inside another Blocks: blocks and events move over, renumbered."""

from __future__ import annotations

from collections.abc import Callable

from gradio_client import Client

import webui as gr
from webui.api_info import build_info


def test_rendered_app_keeps_its_events_chains_cancels_and_loads(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as inner:
        text = gr.Textbox(label="text")
        out = gr.Textbox(label="out")
        run = gr.Button("Run").click(str.upper, text, out, api_name="upper")
        run.then(lambda s: s + "!", out, out, api_name="shout")
        gr.Button("Stop").click(None, cancels=[run])
        inner.load(lambda: "loaded", None, out, api_name="upper_on_load")
    with gr.Blocks() as outer:
        first = gr.Textbox(label="first")
        gr.Button("Go").click(str.lower, first, first, api_name="upper")  # takes the name first
        with gr.Tab("Inner"):
            inner.render()
    assert inner.dependencies == [] and inner.children == []  # all moved
    assert text.root is outer and outer.blocks[text.id] is text
    names = [d.api_name for d in outer.dependencies]
    assert names == ["upper", "upper_1", "shout", "fn", "upper_on_load"]
    moved_run, shout, stop, load = outer.dependencies[1:]
    assert shout.trigger_after == moved_run.id and stop.cancels == [moved_run.id]
    assert load.targets == [(outer.id, "load")] and moved_run.root is outer
    client = Client(serve(outer), verbose=False)
    assert client.predict("abc", api_name="/upper_1") == "ABC"


def test_moved_names_are_made_unique_against_the_outer_app_only_as_gradio() -> None:
    """Gradio suffixes a moved event's name against the names the outer app had before the
    move, so an inner app's own `lambda_1` may meet a renamed `lambda` (its native_plots demo
    lists one /lambda_1, the later event's)."""
    with gr.Blocks() as inner:
        box = gr.Textbox()
        box.change(lambda x: x, box, box)  # lambda -> lambda_1 in the outer app
        box.submit(lambda x: x, box, None)  # lambda_1 stays lambda_1
    with gr.Blocks() as outer:
        gr.Button().click(lambda: None)
        inner.render()
    assert [d.api_name for d in outer.dependencies] == ["lambda", "lambda_1", "lambda_1"]
    endpoint = build_info(outer)["named_endpoints"]["/lambda_1"]
    assert endpoint["returns"] == []  # the submit event's, which has no outputs


def test_render_outside_another_app_does_nothing() -> None:
    with gr.Blocks() as demo:
        gr.Textbox()
    assert demo.render() is demo and len(demo.blocks) == 2


def test_app_built_inside_another_apps_with_shows_there() -> None:
    with gr.Blocks() as plug:
        gr.Interface(lambda x: x, "text", "text")  # an app made inside `with plug:`
    with gr.Blocks() as outer, gr.Tab("Plugged"):
        plug.render()
    assert [d.api_name for d in plug.dependencies] == []
    assert outer.dependencies[0].api_name == "lambda"  # then the Interface's clear and flag
    assert all(d.root is outer for d in outer.dependencies)
    (textbox_in, *_) = [b for b in outer.blocks.values() if isinstance(b, gr.Textbox)]
    assert textbox_in.root is outer


def test_clear_button_empties_components_and_resets_state() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox("x")
        count = gr.State(3)
        clear = gr.ClearButton([box, count])
    # As Gradio's: one event empties the shown components, a lambda resets the State.
    event, states = demo.dependencies
    assert event.targets == [(clear.id, "click")] and event.api_visibility == "private"
    assert event.fn is not None and event.fn() is None and event.outputs == [box]
    assert states.api_name == "lambda" and states.api_visibility == "undocumented"
    assert states.fn is not None and states.fn() == 3 and states.outputs == [count]
