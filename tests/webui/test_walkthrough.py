"""gr.Walkthrough and gr.Step: steps in order, `selected` moved by an event's return."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from gradio_client import Client

import webui as gr


def build() -> tuple[gr.Blocks, gr.Walkthrough, list[gr.Step]]:
    with gr.Blocks() as demo, gr.Walkthrough(selected=0) as walkthrough:
        with gr.Step("Upload", id=0) as first:
            gr.Button("next").click(
                lambda: gr.Walkthrough(selected=1), outputs=walkthrough, api_name="next"
            )
        with gr.Step("Review", id=1, interactive=False) as second:
            gr.Textbox()
    return demo, walkthrough, [first, second]


def test_steps_nest_in_their_walkthrough_with_gradio_props() -> None:
    demo, walkthrough, steps = build()
    assert walkthrough.children == steps
    assert walkthrough.config()["type"] == "walkthrough"
    assert walkthrough.props()["selected"] == 0
    props = steps[1].props()
    assert steps[1].config()["type"] == "walkthroughstep"
    assert (props["label"], props["id"], props["interactive"]) == ("Review", 1, False)
    layout = demo.layout()["children"][0]
    assert [child["id"] for child in layout["children"]] == [s.id for s in steps]


def test_a_step_outside_a_walkthrough_gets_one() -> None:
    with gr.Blocks() as demo:
        one = gr.Step("One", id=0)
        two = gr.Step("Two", id=1)
    [walkthrough] = demo.children
    assert isinstance(walkthrough, gr.Walkthrough) and walkthrough.children == [one, two]


def test_bad_ids_are_refused() -> None:
    with gr.Blocks(), pytest.raises(ValueError, match="numeric id"):
        gr.Walkthrough(selected="first")  # type: ignore[arg-type]
    with gr.Blocks(), gr.Walkthrough(), pytest.raises(ValueError, match="Step id"):
        gr.Step("x", id="a")  # type: ignore[arg-type]


def test_an_event_moves_to_another_step(serve: Callable[[gr.Blocks], str]) -> None:
    demo, walkthrough, _ = build()
    url = serve(demo)
    info = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    endpoint = info["named_endpoints"]["/next"]
    assert endpoint["parameters"] == [] and endpoint["returns"] == []
    reply = httpx.post(f"{url}gradio_api/run/next", json={"data": [], "session_hash": "s1"})
    assert reply.status_code == 200
    # the layout's update, which the page applies to show the step with id 1
    assert reply.json()["data"] == [{"__type__": "update", "selected": 1}]
    assert walkthrough.selected == 0  # the app's own copy stays as built
