"""gr.Code: languages, pre/postprocess, API info as Gradio's, a gradio_client round trip."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client

import webui as gr


def test_code_strips_returned_code_and_passes_input_as_is() -> None:
    code = gr.Code(language="python", render=False)
    assert code.postprocess("  print(1)\n\n") == "print(1)"
    assert code.preprocess("  x = 1\n") == "  x = 1\n"
    assert code.postprocess(None) is None and code.preprocess(None) is None


def test_code_refuses_an_unknown_language_and_file_tuples() -> None:
    with pytest.raises(ValueError, match="cobol"):
        gr.Code(language="cobol", render=False)
    with pytest.raises(gr.Error, match="str of code"):
        gr.Code(render=False).postprocess(("a.py",))
    assert "sql-pgSQL" in gr.Code.languages and None in gr.Code.languages


def test_code_api_info_and_props_are_gradios() -> None:
    code = gr.Code(language="json", lines=3, max_lines=2, render=False)
    assert code.api_info() == {"type": "string"}
    assert code.example_payload() == "print('Hello World')"
    props = code.own_props()
    assert props["language"] == "json" and props["lines"] == 3 and props["max_lines"] == 3
    assert props["buttons"] == ["copy", "download"]


def test_code_round_trip_through_gradio_client(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        source = gr.Code(language="python", label="source")
        out = gr.Code(label="out")
        source.change(lambda s: f"\n{s.upper()}\n", source, out, api_name="shout")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/shout"]
    assert info["parameters"][0]["component"] == "Code"
    assert info["parameters"][0]["python_type"]["type"] == "str"
    assert client.predict("x = 1", api_name="/shout") == "X = 1"
