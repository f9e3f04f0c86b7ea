"""Data components: Dataframe, Label, HTML and CheckboxGroup payloads, alone and end to end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import webui as gr
from webui.errors import Error

PAYLOAD = {"headers": ["a", "b"], "data": [[1, "x"], [2, "y"]], "metadata": None}


def test_preprocess_to_each_type() -> None:
    frame = gr.Dataframe(type="pandas").preprocess(PAYLOAD)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1, 2]
    array = gr.Dataframe(type="numpy").preprocess(PAYLOAD)
    assert isinstance(array, np.ndarray) and array.shape == (2, 2)
    assert gr.Dataframe(type="array").preprocess(PAYLOAD) == [[1, "x"], [2, "y"]]
    empty = gr.Dataframe().preprocess({"headers": ["a", "b"], "data": []})
    assert list(empty.columns) == ["a", "b"] and len(empty) == 0


def test_postprocess_from_each_shape() -> None:
    df = gr.Dataframe(headers=["p", "q"])
    frame = pd.DataFrame({"a": [1.5, float("nan")], "b": ["x", None]})
    assert df.postprocess(frame) == {
        "headers": ["a", "b"],
        "data": [[1.5, "x"], [None, None]],
        "metadata": None,
    }
    assert df.postprocess([[1, 2], [3, 4]])["headers"] == ["p", "q"]
    assert df.postprocess(np.array([[1, 2]], dtype=np.int64))["data"] == [[1, 2]]
    assert df.postprocess({"x": [1, 2], "y": np.array([3.0, 4.0])}) == {
        "headers": ["x", "y"],
        "data": [[1, 3.0], [2, 4.0]],
        "metadata": None,
    }
    assert df.postprocess(PAYLOAD) == PAYLOAD
    assert df.postprocess(None) == {"headers": ["p", "q"], "data": [], "metadata": None}


def test_dates_and_numpy_scalars_become_json() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2026-01-02"]), "n": np.array([7], np.int32)})
    row = gr.Dataframe().postprocess(frame)["data"][0]
    assert row[0].startswith("2026-01-02") and row[1] == 7 and type(row[1]) is int


def test_bad_tables_are_clear_errors() -> None:
    df = gr.Dataframe(label="Table")
    with pytest.raises(Error, match="Table expects"):
        df.preprocess([[1, 2]])
    with pytest.raises(Error, match="rows must all have 2 cells"):
        df.preprocess({"headers": ["a", "b"], "data": [[1, 2], [3]]})
    with pytest.raises(Error, match="one header per column"):
        df.preprocess({"headers": ["a"], "data": [[1, 2]]})
    with pytest.raises(Error, match="columns differ in length"):
        df.postprocess({"x": [1], "y": [1, 2]})
    with pytest.raises(Error, match="cannot show set"):
        df.postprocess({1, 2})
    fixed = gr.Dataframe(headers=["a", "b"], col_count=(2, "fixed"))
    with pytest.raises(Error, match="2 fixed columns"):
        fixed.preprocess({"headers": ["a", "b", "c"], "data": [[1, 2, 3]]})
    with pytest.raises(ValueError, match="type must be one of"):
        gr.Dataframe(type="polars")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="col_count"):
        gr.Dataframe(col_count=(2, "sometimes"))  # type: ignore[arg-type]


def test_pandas_is_imported_only_when_used() -> None:
    code = "import sys, webui; assert 'pandas' not in sys.modules, 'pandas imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_missing_pandas_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match="pip install pandas"):
        gr.Dataframe().preprocess(PAYLOAD)
    assert gr.Dataframe(type="array").preprocess(PAYLOAD) == PAYLOAD["data"]


def test_config_props_and_schema() -> None:
    with gr.Blocks():
        df = gr.Dataframe(headers=["a", "b"], datatype=["number", "str"], interactive=True)
    config = df.config()
    props = config["props"]
    assert props["headers"] == ["a", "b"] and props["col_count"] == [2, "dynamic"]
    assert props["datatype"] == ["number", "str"] and props["interactive"] is True
    assert props["type"] == "pandas" and props["row_count"] == [1, "dynamic"]
    assert config["api_info"]["required"] == ["headers", "data"]


def test_label_payloads() -> None:
    label = gr.Label(num_top_classes=2)
    assert label.postprocess({"cat": 0.7, "dog": 0.2, "cow": 0.1}) == {
        "label": "cat",
        "confidences": [{"label": "cat", "confidence": 0.7}, {"label": "dog", "confidence": 0.2}],
    }
    assert label.postprocess("cat") == {"label": "cat", "confidences": None}  # as Gradio
    assert label.postprocess(3) == {"label": "3", "confidences": None}
    assert label.postprocess(None) == {}
    assert label.preprocess({"label": "cat", "confidences": None}) == "cat"
    assert label.preprocess(label.postprocess({"a": 0.9, "b": 0.1})) == {"a": 0.9, "b": 0.1}
    with pytest.raises(Error, match="Label expects"):
        label.postprocess([1, 2])


def test_checkbox_group_values_and_indices() -> None:
    group = gr.CheckboxGroup(["a", "b", "c"], label="Tags")
    assert group.preprocess(["a", "c"]) == ["a", "c"]
    assert gr.CheckboxGroup(["a", "b"], type="index").preprocess(["b"]) == [1]
    with pytest.raises(Error, match="not in the list of choices"):
        group.preprocess(["z"])
    with pytest.raises(Error, match="expects a list"):
        group.preprocess("a")
    assert group.postprocess("a") == ["a"] and group.postprocess(None) == []
    assert group.python_type == "list[Literal['a', 'b', 'c']]"


def build_app() -> gr.Blocks:
    def describe(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(total=df["a"] * 2)

    def classify(text: str) -> dict[str, float]:
        return {"long": 0.8, "short": 0.2} if len(text) > 3 else {"short": 0.9, "long": 0.1}

    def tags(picked: list[str]) -> str:
        return "<b>" + ",".join(picked) + "</b>"

    with gr.Blocks() as demo:
        table = gr.Dataframe(value=pd.DataFrame({"a": [1], "b": ["x"]}), label="In")
        out = gr.Dataframe(label="Out")
        text = gr.Textbox()
        label = gr.Label()
        group = gr.CheckboxGroup(["red", "green"], label="Colors")
        html = gr.HTML()
        gr.Button().click(describe, table, out, api_name="describe")
        gr.Button().click(classify, text, label, api_name="classify")
        gr.Button().click(tags, group, html, api_name="tags")
    return demo


def test_components_through_the_client(serve: Callable[[gr.Blocks], str]) -> None:
    client = Client(serve(build_app()), verbose=False)
    reply = client.predict(PAYLOAD, api_name="/describe")
    assert reply["headers"] == ["a", "b", "total"]
    assert reply["data"] == [[1, "x", 2], [2, "y", 4]]
    assert client.predict("hello", api_name="/classify")["label"] == "long"
    assert client.predict(["green"], api_name="/tags") == "<b>green</b>"
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(["blue"], api_name="/tags")
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    describe = info["/describe"]["parameters"][0]
    assert describe["component"] == "Dataframe"
    assert describe["python_type"]["type"].startswith("dict(headers: list[Any]")
    assert describe["parameter_default"] == {
        "headers": ["a", "b"],
        "data": [[1, "x"]],
        "metadata": None,
    }
    assert info["/tags"]["parameters"][0]["python_type"]["type"] == "list[Literal['red', 'green']]"


def test_styler_sends_values_and_gradios_display_and_styling_metadata(
    serve: Callable[[gr.Blocks], str],
) -> None:
    frame = pd.DataFrame({"a": [14, 4], "b": [5.0, 54.5], "c": ["x", "y"]})
    styled = frame.style.highlight_max(color="lightgreen", subset=["a", "b"]).format(precision=1)
    payload = gr.Dataframe().postprocess(styled.hide(["c"], axis=1))
    assert payload["headers"] == ["a", "b"]  # the hidden column is left out
    assert payload["data"] == [[14, 5.0], [4, 54.5]]
    assert payload["metadata"] == {
        "display_value": [["14", "5.0"], ["4", "54.5"]],
        "styling": [["background-color: lightgreen", ""], ["", "background-color: lightgreen"]],
    }
    assert gr.Dataframe().postprocess(frame.iloc[:0].style)["metadata"] is None  # no rows

    with gr.Blocks() as demo:
        gr.Dataframe(frame.style.highlight_max(color="red", subset=["a"]))
        out = gr.Dataframe()
        gr.Button().click(lambda: frame.style.format(precision=2), None, out, api_name="styled")
    result = Client(serve(demo), verbose=False).predict(api_name="/styled")
    assert result["metadata"]["display_value"][0] == ["14", "5.00", "x"]
