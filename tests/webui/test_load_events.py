"""Callable values (with `every=`, `inputs=`) and Slider(randomize=True) load as in Gradio."""

from __future__ import annotations

from collections.abc import Callable

from gradio_client import Client
from starlette.testclient import TestClient

import webui as gr


def test_slider_randomize_is_a_load_event_named_get_random_value(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as demo:
        slider = gr.Slider(0, 10, step=1, randomize=True)
    with TestClient(demo.app) as http:
        dependencies = http.get("/config").json()["dependencies"]
    assert [(d["api_name"], d["targets"], d["outputs"]) for d in dependencies] == [
        ("get_random_value", [[demo.id, "load"]], [slider.id])
    ]
    client = Client(serve(demo), verbose=False)
    assert (
        "/get_random_value"
        in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    )
    assert 0 <= client.predict(api_name="/get_random_value") <= 10


def test_callable_value_with_every_ticks_after_the_apps_own_events() -> None:
    calls = iter(range(100))
    with gr.Blocks() as demo:
        box = gr.Textbox(value=lambda: f"call {next(calls)}", every=0.5)
        gr.Button().click(lambda: "x", None, box, api_name="own")
    dependencies = [d.config() for d in demo.dependencies]
    assert [d["api_name"] for d in dependencies] == ["own", "lambda"]
    timer = next(b for b in demo.blocks.values() if isinstance(b, gr.Timer))
    assert dependencies[1]["targets"] == [[timer.id, "tick"], [demo.id, "load"]]
    assert dependencies[1]["show_progress"] == "hidden"
    assert box.value == "call 0"  # called once when built, as Gradio shows it in the config


def test_callable_value_with_inputs_reruns_when_they_change(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as demo:
        name = gr.Textbox("Ada")
        greeting = gr.Textbox(value=lambda n: f"hello {n}", inputs=[name])
    (load,) = [d.config() for d in demo.dependencies]
    assert load["targets"] == [[name.id, "change"], [demo.id, "load"]]
    assert load["inputs"] == [name.id] and load["outputs"] == [greeting.id]
    assert Client(serve(demo), verbose=False).predict("Bo", api_name="/lambda") == "hello Bo"


def test_every_and_inputs_without_a_callable_value_are_ignored_as_in_gradio() -> None:
    with gr.Blocks() as demo:
        source = gr.Textbox()
        box = gr.Textbox("fixed", every=1, inputs=[source])
    assert box.value == "fixed" and demo.dependencies == []


def test_load_endpoint_api_info_matches_gradios() -> None:
    """Gradio 6 shows a randomized Slider's load event as this /info entry (its fn has no
    docstring, so no description; no parameters; the Slider's schema as the return)."""
    with gr.Blocks() as demo:
        gr.Slider(0, 10, randomize=True, label="R")
    with TestClient(demo.app) as http:
        endpoint = http.get("/gradio_api/info").json()["named_endpoints"]["/get_random_value"]
    assert endpoint == {
        "parameters": [],
        "returns": [
            {
                "label": "R",
                "type": {"type": "number", "description": "numeric value between 0 and 10"},
                "python_type": {"type": "float", "description": ""},
                "component": "Slider",
            }
        ],
        "api_visibility": "public",
        "description": "",
    }


def test_state_with_a_callable_value_is_set_by_a_load_event_per_session(
    serve: Callable[[gr.Blocks], str],
) -> None:
    """As Gradio: the factory runs on each page load through an endpoint of its own."""
    made = iter(range(100))
    with gr.Blocks() as demo:
        state = gr.State(lambda: f"session {next(made)}")
        shown = gr.Textbox()
        gr.Button().click(lambda value: value, state, shown, api_name="show")
    dependencies = [d.config() for d in demo.dependencies]
    assert [(d["api_name"], d["targets"], d["outputs"]) for d in dependencies] == [
        ("show", dependencies[0]["targets"], [shown.id]),
        ("lambda", [[demo.id, "load"]], [state.id]),
    ]
    url = serve(demo)
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    assert first.predict(api_name="/show") != second.predict(api_name="/show")  # one a session
    assert first.predict(api_name="/show") == first.predict(api_name="/show")  # kept in it
