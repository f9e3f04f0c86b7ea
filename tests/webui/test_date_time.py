"""gr.DateTime: timestamps, datetimes and strings; "now - 5m"; time zones; Gradio's API info."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from gradio_client import Client

import webui as gr


def test_datetime_types() -> None:
    as_stamp = gr.DateTime(timezone="UTC", render=False)
    stamp = as_stamp.preprocess("2020-10-01 05:20:15")
    assert stamp == datetime(2020, 10, 1, 5, 20, 15, tzinfo=UTC).timestamp()
    parsed = gr.DateTime(type="datetime", render=False).preprocess("2020-10-01 05:20:15")
    assert parsed == datetime(2020, 10, 1, 5, 20, 15)
    as_text = gr.DateTime(type="string", include_time=False, render=False)
    assert as_text.preprocess("2020-10-01") == "2020-10-01"
    assert as_text.preprocess("  ") is None


def test_datetime_reads_now_minus_a_duration() -> None:
    stamp = gr.DateTime(render=False).preprocess("now - 5m")
    assert abs(stamp - (time.time() - 300)) < 5
    with pytest.raises(gr.Error, match="now"):
        gr.DateTime(render=False).preprocess("now + 5m")
    with pytest.raises(gr.Error, match="%Y-%m-%d"):
        gr.DateTime(render=False).preprocess("01/10/2020")


def test_datetime_postprocess_formats_in_its_time_zone() -> None:
    utc = gr.DateTime(timezone="UTC", render=False)
    assert utc.postprocess(0) == "1970-01-01 00:00:00"
    tokyo = gr.DateTime(timezone="Asia/Tokyo", include_time=False, render=False)
    assert tokyo.postprocess(0) == "1970-01-01"
    assert utc.postprocess(datetime(2021, 2, 3, 4, 5, 6)) == "2021-02-03 04:05:06"
    assert utc.postprocess("now") == "now"
    with pytest.raises(ValueError, match="IANA"):
        gr.DateTime(timezone="Mars/Olympus", render=False)
    with pytest.raises(ValueError, match="type"):
        gr.DateTime(type="epoch", render=False)


def test_datetime_api_info_is_gradios() -> None:
    assert gr.DateTime(render=False).api_info() == {
        "type": "string",
        "description": "Formatted as YYYY-MM-DD HH:MM:SS",
    }
    assert gr.DateTime(include_time=False, render=False).api_info()["description"] == (
        "Formatted as YYYY-MM-DD"
    )


def test_datetime_round_trip(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        when = gr.DateTime(timezone="UTC", label="when")
        later = gr.DateTime(timezone="UTC", label="later")
        when.change(lambda t: t + 3600, when, later, api_name="later")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/later"]
    assert info["parameters"][0]["component"] == "Datetime"
    assert client.predict("2020-10-01 05:20:15", api_name="/later") == "2020-10-01 06:20:15"
