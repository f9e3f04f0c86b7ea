"""gr.WaveformOptions: Gradio's fields, checked, and sent to the page with Audio's props."""

from __future__ import annotations

import pytest

import webui as gr


def test_audio_sends_the_options_to_the_page() -> None:
    options = gr.WaveformOptions(
        waveform_color="#01C6FF", skip_length=2, show_recording_waveform=False
    )
    props = gr.Audio(waveform_options=options, render=False).own_props()["waveform_options"]
    assert props == {
        "waveform_color": "#01C6FF",
        "waveform_progress_color": None,
        "trim_region_color": None,
        "show_recording_waveform": False,
        "skip_length": 2,
        "sample_rate": 44100,
    }
    from_dict = gr.Audio(waveform_options={"waveform_progress_color": "red"}, render=False)
    assert from_dict.own_props()["waveform_options"]["waveform_progress_color"] == "red"
    default = gr.Audio(render=False).own_props()["waveform_options"]
    assert default["show_recording_waveform"] is True and default["skip_length"] == 5


def test_options_the_page_cannot_honour_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="trim_region_color"):
        gr.WaveformOptions(trim_region_color="#fff")
    with pytest.raises(ValueError, match="sample_rate"):
        gr.WaveformOptions(sample_rate=16000)
    with pytest.raises(ValueError, match="percentage"):
        gr.WaveformOptions(skip_length=150)
    with pytest.raises(ValueError, match="no fields \\['colour'\\]"):
        gr.Audio(waveform_options={"colour": "red"}, render=False)
    with pytest.raises(TypeError, match="waveform_options"):
        gr.Audio(waveform_options="red", render=False)
