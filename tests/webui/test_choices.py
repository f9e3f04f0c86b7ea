"""Choice components: Dropdown (single and multiselect) and Radio on the wire and in /info."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from gradio_client import Client
from starlette.testclient import TestClient

import webui as gr
from webui.errors import Error


def test_multiselect_value_is_a_list_and_api_info_is_gradios() -> None:
    dropdown = gr.Dropdown(["ran", "swam", "ate"], value="swam", multiselect=True, max_choices=2)
    assert dropdown.value == ["swam"]  # one value becomes a list of one, as in Gradio
    assert gr.Dropdown(["a", "b"], multiselect=True).value == []  # no first-choice default
    assert dropdown.api_info() == {
        "type": "array",
        "items": {"type": "string", "enum": ["ran", "swam", "ate"]},
    }
    assert dropdown.example_payload() == ["ran"]
    props = dropdown.props()
    assert props["multiselect"] is True and props["max_choices"] == 2
    assert props["value"] == ["swam"]


def test_multiselect_preprocess_checks_each_value_and_takes_indices() -> None:
    values = gr.Dropdown([("Ran", "ran"), ("Swam", "swam")], multiselect=True)
    assert values.preprocess(["swam", "ran"]) == ["swam", "ran"]
    assert values.preprocess(None) is None
    with pytest.raises(Error, match="'flew' is not in the list of choices"):
        values.preprocess(["ran", "flew"])
    with pytest.raises(Error, match="expects a list"):
        values.preprocess("ran")
    indices = gr.Dropdown(["a", "b", "c"], multiselect=True, type="index", allow_custom_value=True)
    assert indices.preprocess(["c", "zzz"]) == [2, None]  # a custom value has no index
    assert values.postprocess("ran") == ["ran"]


def test_bad_max_choices_is_refused() -> None:
    with pytest.raises(ValueError, match="max_choices"):
        gr.Dropdown(["a"], multiselect=True, max_choices=0)


def test_gradio_client_sends_and_gets_lists(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        activities = gr.Dropdown(
            ["ran", "swam", "ate", "slept"], value=["swam", "slept"], multiselect=True
        )
        joined = gr.Textbox()
        gr.Button().click(lambda acts: " and ".join(acts), activities, joined, api_name="join")
        gr.Button().click(lambda: ["ate", "ran"], None, activities, api_name="pick")
    client = Client(serve(demo), verbose=False)
    parameter = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/join"][
        "parameters"
    ][0]
    assert parameter["python_type"]["type"] == "list[Literal['ran', 'swam', 'ate', 'slept']]"
    assert parameter["parameter_default"] == ["swam", "slept"]
    assert client.predict(["ran", "ate"], api_name="/join") == "ran and ate"
    assert client.predict(api_name="/pick") == ["ate", "ran"]


def test_config_carries_the_multiselect_props() -> None:
    with gr.Blocks() as demo:
        tags = gr.Dropdown(["x", "y"], multiselect=True, max_choices=1, allow_custom_value=True)
    with TestClient(demo.app) as http:
        component = next(c for c in http.get("/config").json()["components"] if c["id"] == tags.id)
    props = component["props"]
    assert (props["multiselect"], props["max_choices"], props["allow_custom_value"]) == (
        True,
        1,
        True,
    )
    assert component["api_info"]["type"] == "array"


def test_dropdown_starts_on_its_first_choice_unless_value_none_is_explicit():
    """Gradio 5+: only the default value selects the first choice; None selects nothing."""
    with gr.Blocks():
        default = gr.Dropdown(["Paris", "Lima"])
        empty = gr.Dropdown(["Paris", "Lima"], value=None)
        several = gr.Dropdown(["Paris", "Lima"], multiselect=True)
    assert default.value == "Paris"
    assert empty.value is None and "value" not in empty.props()
    assert several.value == []
    assert "first choice" in repr(inspect.signature(gr.Dropdown).parameters["value"].default)
