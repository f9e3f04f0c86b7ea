"""gradio_client against webui: the calls a Gradio user makes, checked end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import webui as gr
from webui.routes import CLOSE_GRACE_S


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


def test_one_client_calling_from_16_threads_gets_every_reply(client: Client) -> None:
    """gradio_client hands each call to its one open reader: the stream must not close
    between one call's reply and the next call's join (what CLOSE_GRACE_S is for)."""
    names = [f"n{i}" for i in range(64)]

    def greet(name: str) -> str:
        return client.predict(name, 1, False, "a", api_name="/greet")

    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(greet, names))
    assert replies == [f"hi {name} a" for name in names]


def test_reset_session_then_predict_runs_in_the_new_session(client: Client) -> None:
    """A new session once the old one's stream has closed (CLOSE_GRACE_S after its last
    reply). The stream stays open that long so that concurrent calls of one client, which
    gradio_client hands to its one open reader, are never cancelled by a close between
    them; a call made after reset_session() within that second goes to the old reader."""
    first = client.session_hash
    assert client.predict(api_name="/count").isdigit()
    for _ in range(2):
        time.sleep(CLOSE_GRACE_S + 0.5)
        client.reset_session()
        assert client.session_hash != first
        assert client.predict(api_name="/count") == "1"  # a fresh session: State starts over
        assert client.predict(api_name="/count") == "2"  # and the next call keeps it


def test_exception_in_fn_arrives_as_app_error(client: Client) -> None:
    with pytest.raises(AppError):
        client.predict("x", api_name="/fail")
    with pytest.raises(AppError, match="refused x"):
        client.predict("x", api_name="/refuse")
    assert client.predict("al", 1, False, "a", api_name="/greet") == "hi al a"


def test_choice_outside_the_list_is_an_error(client: Client) -> None:
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("al", 1, False, "zzz", api_name="/greet")


def test_numbers_keep_their_type_as_in_gradio(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        a, b = gr.Number(), gr.Number()
        whole, rounded = gr.Number(precision=0), gr.Number(precision=1)
        total = gr.Number()
        gr.Button().click(lambda x, y: x + y, [a, b], total, api_name="add")
        gr.Button().click(lambda x: x / 3, a, [rounded], api_name="third")
        gr.Button().click(lambda x: x, whole, whole, api_name="whole")
        gr.Button().click(lambda x: (type(x).__name__, x), a, [gr.Textbox(), total], api_name="t")
    client = Client(serve(demo), verbose=False)
    assert (answer := client.predict(3, 3, api_name="/add")) == 6 and type(answer) is int
    assert (answer := client.predict(1.5, 3, api_name="/add")) == 4.5 and type(answer) is float
    assert (answer := client.predict(2.0, 2.0, api_name="/add")) == 4.0 and type(answer) is float
    assert client.predict(1, api_name="/third") == 0.3  # precision=1 rounds
    assert (answer := client.predict(2.6, api_name="/whole")) == 3 and type(answer) is int
    assert client.predict(7, api_name="/t") == ("int", 7)  # fn gets the int it was sent


def test_api_info_names_components_and_labels_as_gradio(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        text = gr.Textbox()
        outputs = [gr.JSON(label="J"), gr.HTML(), gr.BarPlot(), gr.LinePlot(), gr.CheckboxGroup()]
        gr.Button().click(lambda t: [None] * 5, text, outputs, api_name="many")

        def optional(name: str, suffix: str | None = None) -> str:
            return name + (suffix or "")

        gr.Button().click(optional, [text, gr.Textbox(label="S")], text, api_name="optional")
    info = Client(serve(demo), verbose=False).view_api(print_info=False, return_format="dict")
    many = info["named_endpoints"]["/many"]
    assert [r["component"] for r in many["returns"]] == [
        "Json",  # Gradio's `type.capitalize()`, not the class name
        "Html",
        "Barplot",
        "Lineplot",
        "Checkboxgroup",
    ]
    assert many["parameters"][0]["label"] == f"parameter_{text.id}"  # no label: Gradio's name
    assert many["returns"][0]["label"] == "J"
    assert many["returns"][1]["label"] == f"value_{outputs[1].id}"
    first, second = info["named_endpoints"]["/optional"]["parameters"]
    assert not first["parameter_has_default"]
    assert second["parameter_has_default"] and second["parameter_default"] is None  # fn's None


def test_outputs_gradio_encodes_leniently(serve: Callable[[gr.Blocks], str]) -> None:
    import datetime

    import numpy as np

    with gr.Blocks() as demo:
        data, number = gr.JSON(), gr.Number()
        when = datetime.datetime(2026, 1, 2, 3, 4, 5)
        gr.Button().click(
            lambda: ({"a": np.arange(3), "b": np.float32(0.5), "when": when}, float("nan")),
            None,
            [data, number],
            api_name="lenient",
        )
    answer = Client(serve(demo), verbose=False).predict(api_name="/lenient")
    assert answer == ({"a": [0, 1, 2], "b": 0.5, "when": "2026-01-02 03:04:05"}, None)


def test_templates_are_named_as_their_parent_as_in_gradio(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as demo:
        area = gr.TextArea()
        gr.Button().click(lambda t: t, area, gr.Textbox(), api_name="same")
    info = Client(serve(demo), verbose=False).view_api(print_info=False, return_format="dict")
    assert info["named_endpoints"]["/same"]["parameters"][0]["component"] == "Textbox"
