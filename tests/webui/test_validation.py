"""`validator=` and `gr.validate`: inputs refused before the event joins the queue (422)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client
from gradio_client.exceptions import ValidationError
from starlette.testclient import TestClient

import webui as gr


def build() -> gr.Blocks:
    def check(name: str, age: float) -> list[dict]:
        return [gr.validate(bool(name), "Name is required"), gr.validate(age >= 0, "Age >= 0")]

    with gr.Blocks() as demo:
        name, age = gr.Textbox(), gr.Number()
        out = gr.Textbox()
        gr.Button().click(
            lambda n, a: f"{n} is {a}", [name, age], out, validator=check, api_name="greet"
        )
    return demo


def test_validate_is_gradios_marker() -> None:
    assert gr.validate(False, "no") == {"__type__": "validate", "is_valid": False, "message": "no"}


def test_invalid_inputs_are_refused_with_422_and_each_message() -> None:
    with TestClient(build().app) as http:
        body = {"fn_index": 0, "data": ["", -1], "session_hash": "s"}
        reply = http.post("/gradio_api/queue/join", json=body)
        assert reply.status_code == 422
        detail = reply.json()["detail"]
        assert [d["is_valid"] for d in detail] == [False, False]
        assert [d["message"] for d in detail] == ["Name is required", "Age >= 0"]
        assert [d["parameter_name"] for d in detail] == ["n", "a"]
        reply = http.post("/gradio_api/run/greet", json={"data": ["", 3]})
        assert reply.status_code == 422


def test_valid_inputs_run_the_event(serve: Callable[[gr.Blocks], str]) -> None:
    client = Client(serve(build()), verbose=False)
    assert client.predict("Ada", 36, api_name="/greet") == "Ada is 36"
    with pytest.raises(ValidationError, match="n: Name is required"):
        client.predict("", 36, api_name="/greet")


def test_a_validator_must_be_callable() -> None:
    with gr.Blocks(), pytest.raises(TypeError, match="validator"):
        gr.Button().click(lambda: None, None, None, validator="not a function")
