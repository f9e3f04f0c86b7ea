"""gr.Video: passthrough of video files, conversions refused without ffmpeg, round trips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

import webui as gr
from webui.components.filedata import FILE_DATA_SCHEMA

META = {"_type": "gradio.FileData"}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 stand-in bytes")
    return path


def test_defaults_and_api_info_are_gradios() -> None:
    video = gr.Video(render=False)
    assert video.api_info() == FILE_DATA_SCHEMA
    assert video.sources == ["upload", "webcam"] and video.include_audio is True
    assert gr.Video(sources="webcam", render=False).include_audio is False
    assert video.example_payload()["orig_name"] == "world.mp4"
    with pytest.raises(ValueError, match="sources"):
        gr.Video(sources=["screen"], render=False)


def test_outputs_pass_through_and_conversions_are_refused(clip: Path) -> None:
    with gr.Blocks() as demo:
        video = gr.Video()
        webm = gr.Video(format="webm")
    data = video.postprocess(str(clip))
    assert data is not None and Path(data["path"]).read_bytes() == clip.read_bytes()
    assert data["mime_type"] == "video/mp4"
    assert video.postprocess((str(clip), None))["orig_name"] == "clip.mp4"
    assert webm.postprocess(None) is None
    with pytest.raises(gr.Error, match="does not transcode"):
        webm.postprocess(str(clip))
    demo.close()


def test_inputs_pass_the_policy_and_refuse_muting(clip: Path) -> None:
    with gr.Blocks() as demo:
        video = gr.Video()
        muted = gr.Video(include_audio=False)
    store = demo.files
    fd, partial = store.new_partial()
    with open(fd, "wb") as f:
        f.write(clip.read_bytes())
    path = str(store.commit_upload(partial, "sha", "clip.mp4"))
    assert video.preprocess({"path": path, "meta": META}) == path
    with pytest.raises(gr.Error, match="include_audio"):
        muted.preprocess({"path": path, "meta": META})
    with pytest.raises(Exception, match="FileData"):
        video.preprocess({"path": path})
    demo.close()


def test_round_trip_up_and_down(serve: Callable[[gr.Blocks], str], clip: Path) -> None:
    with gr.Blocks() as demo:
        given = gr.Video(label="given")
        shown = gr.Video(label="shown")
        given.change(lambda path: path, given, shown, api_name="echo")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/echo"]
    assert info["parameters"][0]["component"] == "Video"
    assert info["parameters"][0]["python_type"]["type"] == "filepath"
    result = client.predict(handle_file(clip), api_name="/echo")
    assert Path(result).read_bytes() == clip.read_bytes()


def test_playable_video_is_gradios_mp4_template(tmp_path: Path) -> None:
    from webui.api_info import component_name

    playable = gr.PlayableVideo(render=False)
    assert playable.format == "mp4" and component_name(playable) == "Video"
    with gr.Blocks() as demo:
        rendered = gr.PlayableVideo()
    avi = tmp_path / "clip.avi"
    avi.write_bytes(b"RIFF")
    with pytest.raises(gr.Error, match="does not transcode"):
        rendered.postprocess(str(avi))
    demo.close()
