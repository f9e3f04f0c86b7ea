"""gradio_client against webui: the calls a Gradio user makes, checked end to end."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import webui as gr


def build_app() -> gr.Blocks:
    def greet(name: str, times: float, loud: bool, choice: str) -> str:
        text = f"hi {name} " * int(times) + choice
        return text.upper() if loud else text

    def stream(text: str):
        out = ""
        for ch in text:
            out += ch
            yield out

    def count(total: int) -> tuple[int, str]:
        total = (total or 0) + 1
        return total, str(total)

    def fail(text: str) -> str:
        raise ValueError(f"bad input {text}")

    def refuse(text: str) -> str:
        raise gr.Error(f"refused {text}")

    with gr.Blocks() as demo:
        with gr.Row():
            name = gr.Textbox(label="Name", value="bob")
            times = gr.Number(label="Times", value=1)
            loud = gr.Checkbox(label="Loud")
            choice = gr.Dropdown(["a", "b"], label="Choice")
        out = gr.Textbox(label="Out")
        gr.Button("Greet").click(greet, [name, times, loud, choice], out, api_name="greet")
        gr.Button("Stream").click(stream, name, out, api_name="stream")
        total = gr.State(0)
        gr.Button("Count").click(count, total, [total, out], api_name="count")
        gr.Button("Fail").click(fail, name, out, api_name="fail")
        gr.Button("Refuse").click(refuse, name, out, api_name="refuse")
    demo.queue(default_concurrency_limit=8)
    return demo


@pytest.fixture
def client(serve: Callable[[gr.Blocks], str]) -> Client:
    return Client(serve(build_app()), verbose=False)


def test_positional_and_keyword_args(client: Client) -> None:
    assert client.predict("al", 2, False, "b", api_name="/greet") == "hi al hi al b"
    assert client.predict(name="al", times=1, loud=True, choice="a", api_name="/greet") == "HI AL A"


def test_defaults_fill_missing_keyword_args(client: Client) -> None:
    assert client.predict(times=1, loud=False, choice="b", api_name="/greet") == "hi bob b"


def test_view_api_lists_names_and_types(client: Client) -> None:
    info = client.view_api(print_info=False, return_format="dict")
    greet = info["named_endpoints"]["/greet"]
    assert [p["parameter_name"] for p in greet["parameters"]] == ["name", "times", "loud", "choice"]
    assert [p["python_type"]["type"] for p in greet["parameters"]] == [
        "str",
        "float",
        "bool",
        "Literal['a', 'b']",
    ]
    assert greet["returns"][0]["component"] == "Textbox"
    assert info["named_endpoints"]["/count"]["parameters"] == []
    text = client.view_api(print_info=False, return_format="str")
    assert "/stream" in text and "name: str" in text


def test_streaming_submit_yields_growing_text(client: Client) -> None:
    job = client.submit("hello", api_name="/stream")
    seen = list(job)
    assert seen[-1] == "hello"
    # The client may coalesce updates, so check order and shape, not that every step arrived.
    assert all("hello".startswith(s) for s in seen)
    assert [len(s) for s in seen] == sorted({len(s) for s in seen})
    assert job.outputs()[-1] == "hello"
    assert job.result() == "hello"


def test_state_persists_across_calls_of_one_client(client: Client) -> None:
    assert [client.predict(api_name="/count") for _ in range(3)] == ["1", "2", "3"]


def test_state_is_per_session(serve: Callable[[gr.Blocks], str]) -> None:
    url = serve(build_app())
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    first.predict(api_name="/count")
    assert first.predict(api_name="/count") == "2"
    assert second.predict(api_name="/count") == "1"


def test_exception_in_fn_arrives_as_app_error(client: Client) -> None:
    with pytest.raises(AppError):
        client.predict("x", api_name="/fail")
    with pytest.raises(AppError, match="refused x"):
        client.predict("x", api_name="/refuse")
    assert client.predict("al", 1, False, "a", api_name="/greet") == "hi al a"


def test_choice_outside_the_list_is_an_error(client: Client) -> None:
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("al", 1, False, "zzz", api_name="/greet")
