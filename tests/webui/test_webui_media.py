"""webui.media: the sample files demos ask for by Gradio's names, and the ones webui lacks."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path

import pytest
from PIL import Image as PILImage

import webui as gr


@pytest.mark.parametrize(
    "name", ["bus.png", "cheetah1.jpg", "avatar.png", "lion.jpg", "logo.png", "groot.jpeg"]
)
def test_sample_images_open_with_pillow(name: str) -> None:
    with PILImage.open(gr.media.get_image(name)) as image:
        assert image.size == (96, 64)


def test_sample_audio_models_and_data_are_valid() -> None:
    with wave.open(gr.media.get_audio("cantina.wav")) as sound:
        assert sound.getnframes() > 0
    glb = Path(gr.media.get_model3d("Duck.glb")).read_bytes()
    magic, version, length = struct.unpack("<III", glb[:12])
    assert magic == 0x46546C67 and version == 2 and length == len(glb)
    assert json.loads(Path(gr.media.get_model3d("Fox.gltf")).read_text())["asset"]["version"]
    header = Path(gr.media.get_file("titanic.csv")).read_text().splitlines()[0]
    assert header.startswith("PassengerId,Survived,Pclass")
    assert Path(gr.media.get_file()).is_file() and Path(gr.media.get_image()).is_file()


def test_sample_videos_are_mp4_files() -> None:
    for name in ("world.mp4", "a.mp4", "b.mp4"):
        head = Path(gr.media.get_video(name)).read_bytes()[:12]
        assert head[4:12] == b"ftypisom"
    assert Path(gr.media.get_video()).name == "a.mp4"


def test_missing_samples_are_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"b\.avi"):
        gr.media.get_video("b.avi")
    assert Path(gr.media.get_audio("cate_blanch.mp3")).read_bytes()[:2] == b"\xff\xfb"
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        gr.media.get_image("nope.png")
    with pytest.raises(FileNotFoundError):
        gr.media.get_image("../audio/sax.wav")
    assert gr.media.get_video("https://example.com/v.mp4") == "https://example.com/v.mp4"


def test_samples_may_be_returned_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the samples are outside the cwd: the policy allows them
    with gr.Blocks() as demo:
        image = gr.Image(type="filepath")
    data = image.postprocess(gr.media.get_image("bus.png"))
    assert data is not None and Path(data["path"]).read_bytes() == (
        Path(gr.media.get_image("bus.png")).read_bytes()
    )
    demo.close()


def test_generator_script_is_in_the_repo() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_webui_media.py"
    assert "def main" in script.read_text()


def test_media_paths_name_the_sample_folders() -> None:
    from webui.media import MEDIA_PATHS

    assert [p.name for p in MEDIA_PATHS] == ["images", "videos", "audio", "models3d", "data"]
    assert Path(gr.media.get_image("bus.png")).parent == MEDIA_PATHS[0]


def test_helpers_are_exported_at_top_level_as_in_gradio() -> None:
    """Gradio's demos call `gr.get_image(...)` and `from gradio import get_image` directly."""
    from webui import get_audio, get_file, get_image, get_model3d, get_video

    assert get_image("lion.jpg") == gr.media.get_image("lion.jpg")
    assert Path(get_video("b.mp4")).name == "b.mp4"
    assert Path(get_audio("cantina.wav")).parent.name == "audio"
    assert Path(get_model3d("Duck.glb")).suffix == ".glb"
    assert Path(get_file("titanic.csv")).is_file()
    assert {"get_image", "get_video", "get_audio", "get_model3d", "get_file"} <= set(gr.__all__)
