"""Flagging: the Flag button's CSV rows, copied files, options, modes and refusals."""

from __future__ import annotations

import csv
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

import webui as gr
from webui.flagging import CSVLogger, FlagMethod, sanitize_for_csv


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_flag_appends_inputs_and_outputs_to_the_csv(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    demo = gr.Interface(str.upper, "text", "text", flagging_dir=str(tmp_path / "flags"))
    client = Client(serve(demo), verbose=False)
    assert not (tmp_path / "flags").exists()  # nothing is written until someone flags
    client.predict("hi", "HI", api_name="/Flag")  # the Flag button sends inputs and outputs
    client.predict("=1+1", "@cmd", api_name="/Flag")
    header, first, second = _rows(tmp_path / "flags" / "dataset1.csv")
    assert header == ["self", "output", "timestamp"]  # labels: str.upper's parameter is `self`
    assert first[:2] == ["hi", "HI"] and second[:2] == ["'=1+1", "'@cmd"]  # formulas escaped


def test_flagging_options_add_a_flag_column(tmp_path: Path) -> None:
    demo = gr.Interface(
        str.upper, gr.Textbox(label="in"), gr.Textbox(label="out"),
        flagging_options=[("Wrong", "wrong"), ("Offensive", "bad")], flagging_dir=str(tmp_path),
    )  # fmt: skip
    labels = [b.value for b in demo.blocks.values() if isinstance(b, gr.Button)]
    assert labels[-2:] == ["Wrong", "Offensive"]
    named = gr.Interface(str.upper, "text", "text", flagging_options=["wrong", "rude"])
    assert named.flagging_options == [("Flag as wrong", "wrong"), ("Flag as rude", "rude")]
    flags = [d for d in demo.dependencies if d.api_name.startswith("Flag")]
    assert [d.api_visibility for d in flags] == ["undocumented"] * 2
    assert all(not d.preprocess for d in flags)  # raw payloads are saved
    flags[1].fn("a", "A")
    header, row = _rows(tmp_path / "dataset1.csv")
    assert header == ["in", "out", "flag", "timestamp"] and row[:3] == ["a", "A", "bad"]


def test_changed_columns_start_a_new_dataset_file(tmp_path: Path) -> None:
    first, second = CSVLogger(), CSVLogger()
    first.setup([gr.Textbox(label="a", render=False)], tmp_path)
    assert first.flag(["1"]) == 1 and first.flag(["2"]) == 2
    second.setup([gr.Textbox(label="b", render=False)], tmp_path)
    second.flag(["3"])
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["dataset1.csv", "dataset2.csv"]
    assert sanitize_for_csv(-3) == -3 and sanitize_for_csv("-3") == "'-3"


def test_flagged_files_are_copied_and_forged_paths_refused(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    upload = tmp_path / "report.txt"
    upload.write_text("flag me")
    flags = tmp_path / "flags"
    demo = gr.Interface(lambda f: "seen", "file", "text", flagging_dir=str(flags))
    url = serve(demo)
    client = Client(url, verbose=False)
    client.predict(handle_file(str(upload)), "seen", api_name="/Flag")
    _, row = _rows(flags / "dataset1.csv")
    copied = Path(row[0])
    assert copied.is_relative_to(flags / "f") and copied.read_text() == "flag me"
    forged = {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}
    request = urllib.request.Request(
        url + "gradio_api/run/Flag",
        data=json.dumps({"data": [forged, "x"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert "file access denied" in refused.value.read().decode()
    assert len(_rows(flags / "dataset1.csv")) == 2  # nothing more was saved


def test_modes() -> None:
    never = gr.Interface(str.upper, "text", "text", flagging_mode="never")
    assert not [d for d in never.dependencies if d.api_name.startswith("Flag")]
    auto = gr.Interface(str.upper, "text", "text", flagging_mode="auto")
    (flag,) = [d for d in auto.dependencies if d.api_name.startswith("Flag")]
    assert flag.trigger_after == 0 and flag.trigger_only_on_success  # after each submit
    assert "Flag" not in [b.value for b in auto.blocks.values() if isinstance(b, gr.Button)]
    with pytest.raises(ValueError, match="flagging_mode must be one of"):
        gr.Interface(str.upper, "text", "text", flagging_mode="always")


def test_simple_csv_logger_writes_rows_without_a_header(tmp_path: Path) -> None:
    demo = gr.Interface(
        str.upper,
        "text",
        "text",
        flagging_callback=gr.SimpleCSVLogger(),
        flagging_dir=str(tmp_path),
    )
    (flag,) = [d for d in demo.dependencies if d.api_name == "Flag"]
    flag.fn("a", "A")
    flag.fn("+b", "B")
    assert _rows(tmp_path / "log.csv") == [["a", "A"], ["'+b", "B"]]


def test_flag_buttons_show_saving_and_name_endpoints_as_gradio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per button: a "Saving..." lambda, Flag (answering the button's label), Clear's reset;
    so a lambda the app adds afterwards is /lambda_3 with three options, as in Gradio."""
    monkeypatch.setattr(FlagMethod, "FEEDBACK_SECONDS", 0)
    with gr.Blocks() as demo:
        face = gr.Interface(
            str.upper, "text", "text", flagging_options=["a", "b", "c"], flagging_dir=str(tmp_path)
        )
        gr.Button("More").click(lambda: "x", None, face.output_components[0])
    names = [d.api_name for d in demo.dependencies]
    assert {"lambda", "Flag", "reset", "lambda_2", "Flag_2", "reset_2"} <= set(names)
    assert names[-1] == "lambda_3"
    by_name = {d.api_name: d for d in demo.dependencies}
    button = by_name["Flag_1"].outputs[0]
    assert button.value == "Flag as b" and by_name["lambda_1"].outputs == [button]
    assert by_name["lambda_1"].fn().constructor_args["value"] == "Saving..."
    assert by_name["Flag_1"].fn("in", "IN").constructor_args["value"] == "Flag as b"
    assert _rows(tmp_path / "dataset1.csv")[1][:3] == ["in", "IN", "b"]
    assert by_name["reset_1"].outputs == [button]  # Clear restores the label
    assert by_name["reset_1"].fn().constructor_args["interactive"] is True
    assert FlagMethod(_Failing(), "Flag", None)("x") == "Error!"  # shown on the button
    with pytest.raises(OSError):
        FlagMethod(_Failing(), "", None, visual_feedback=False)("x")  # auto: the event fails


class _Failing(gr.FlaggingCallback):
    def setup(self, components: Any, flagging_dir: str | Path) -> None:
        pass

    def flag(self, flag_data: Any, flag_option: str | None = None, username: Any = None) -> int:
        raise OSError("disk full")
