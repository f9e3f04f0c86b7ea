"""Image, Audio and File: payload conversion, WAV and PNG codecs, and gradio_client round trips."""

from __future__ import annotations

import io
import sys
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from gradio_client import Client, handle_file
from PIL import Image as PILImage

import webui as gr
from webui.components.wav import read_wav, write_wav
from webui.files import FileAccessError
from webui.interface import component_for

META = {"_type": "gradio.FileData"}
RNG = np.random.default_rng(0)


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def pixels_of(source: str | Path | io.BytesIO) -> np.ndarray:
    with PILImage.open(source) as image:
        return np.array(image)


def image_info(source: str | Path) -> tuple[str | None, tuple[int, int]]:
    with PILImage.open(source) as image:
        return image.format, image.size


def wav_bytes(rate: int, samples: np.ndarray, width: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


class Parts:
    """Components rendered in one Blocks, and a way to make inputs that pass the policy."""

    def __init__(self) -> None:
        with gr.Blocks() as demo:
            self.numpy = gr.Image()
            self.pil = gr.Image(type="pil", image_mode="L")
            self.path = gr.Image(type="filepath")
            self.jpeg = gr.Image(format="jpeg")
            self.audio = gr.Audio()
            self.audio_path = gr.Audio(type="filepath")
            self.file = gr.File(file_types=[".txt", "image"])
            self.files = gr.File(file_count="multiple", type="binary")
        self.demo = demo
        self.store = demo.files

    def input(self, content: bytes, name: str) -> dict[str, Any]:
        path = self.store.commit_upload(self._partial(content), "sha", name)
        return {"path": str(path), "orig_name": name, "meta": META}

    def _partial(self, content: bytes) -> str:
        fd, partial = self.store.new_partial()
        with open(fd, "wb") as f:
            f.write(content)
        return partial


@pytest.fixture
def parts() -> Iterator[Parts]:
    made = Parts()
    yield made
    made.demo.close()


# -- Image --------------------------------------------------------------------------------------


def test_image_inputs_as_numpy_pil_and_path(parts: Parts) -> None:
    pixels = RNG.integers(0, 255, (4, 6, 3), dtype=np.uint8)
    payload = parts.input(png_bytes(pixels), "in.png")
    array = parts.numpy.preprocess(payload)
    assert array.shape == (4, 6, 3) and (array == pixels).all()
    image = parts.pil.preprocess(payload)
    assert isinstance(image, PILImage.Image) and image.mode == "L" and image.size == (6, 4)
    assert parts.path.preprocess(payload) == payload["path"]
    assert parts.numpy.preprocess(None) is None


def test_image_input_that_is_not_an_image_is_refused(parts: Parts) -> None:
    with pytest.raises(gr.Error, match="not an image"):
        parts.numpy.preprocess(parts.input(b"plain text", "fake.png"))


def test_file_inputs_need_the_file_data_marker(parts: Parts) -> None:
    payload = parts.input(b"x", "a.txt")
    for bad in ({"path": payload["path"]}, {**payload, "meta": {}}, payload["path"], [payload]):
        with pytest.raises(FileAccessError, match="FileData") as refused:
            parts.file.preprocess(bad)
        assert refused.value.status == 400


def test_image_outputs_are_png_files_in_the_cache(parts: Parts) -> None:
    pixels = RNG.integers(0, 255, (3, 5, 3), dtype=np.uint8)
    data = parts.numpy.postprocess(pixels)
    assert data is not None
    path = Path(data["path"])
    assert path.parent.parent == parts.store.cache_dir and path.suffix == ".png"
    assert data["url"] == f"/gradio_api/file={path}"  # relative outside a request
    assert data["meta"] == META and data["mime_type"] == "image/png"
    assert data["size"] == path.stat().st_size
    assert (pixels_of(path) == pixels).all()


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0.0, 0.5], [1.0, 0.25]]), np.array([[0, 128], [255, 64]])),
        (np.array([[-5.0, 300.0]]), np.array([[0, 255]])),
        (np.array([[True, False]]), np.array([[255, 0]])),
        (np.array([[1000, -3]], dtype=np.int64), np.array([[255, 0]])),
        (np.full((2, 2, 1), 7, dtype=np.uint8), np.full((2, 2), 7)),
    ],
)
def test_image_arrays_are_converted_to_uint8(
    parts: Parts, array: np.ndarray, expected: np.ndarray
) -> None:
    data = parts.numpy.postprocess(array)
    assert (pixels_of(data["path"]) == expected).all()


def test_image_outputs_from_pil_paths_and_bad_values(parts: Parts, tmp_path: Path) -> None:
    rgba = PILImage.new("RGBA", (3, 2), (10, 20, 30, 40))
    jpeg = parts.jpeg.postprocess(rgba)
    assert jpeg["path"].endswith(".jpeg") and image_info(jpeg["path"])[0] == "JPEG"
    source = tmp_path / "pic.png"
    source.write_bytes(png_bytes(np.zeros((2, 2, 3), dtype=np.uint8)))
    copied = parts.path.postprocess(str(source))
    assert Path(copied["path"]).read_bytes() == source.read_bytes()
    assert copied["orig_name"] == "pic.png"
    with pytest.raises(gr.Error, match=r"\[H, W\]"):
        parts.numpy.postprocess(np.zeros((2, 2, 2, 2)))
    with pytest.raises(gr.Error, match="cannot show a int"):
        parts.numpy.postprocess(5)
    assert parts.numpy.postprocess(None) is None


def test_image_types_need_their_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        gr.Image(type="pil")
    with pytest.raises(ImportError, match="pip install pillow"):
        gr.Image()
    assert gr.Image(type="filepath").type == "filepath"
    with pytest.raises(ValueError, match="Image type"):
        gr.Image(type="tensor")


def test_image_props_and_api_info(parts: Parts) -> None:
    config = parts.numpy.config()
    assert config["type"] == "image"
    assert config["props"]["type"] == "numpy" and config["props"]["format"] == "png"
    assert config["api_info"]["title"] == "ImageData"
    assert config["example_inputs"]["meta"] == META


# -- Audio --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
def test_wav_round_trip(tmp_path: Path, channels: int) -> None:
    samples = RNG.integers(-32768, 32767, (100, channels), dtype=np.int16)
    samples = samples[:, 0] if channels == 1 else samples
    path = tmp_path / "a.wav"
    path.write_bytes(write_wav(16000, samples))
    rate, read = read_wav(path)
    assert rate == 16000 and read.dtype == np.int16 and (read == samples).all()


def test_wav_reads_8_and_24_bit(tmp_path: Path) -> None:
    eight = np.array([0, 128, 255], dtype=np.uint8)
    (tmp_path / "8.wav").write_bytes(wav_bytes(8000, eight, 1))
    assert (read_wav(tmp_path / "8.wav")[1] == eight).all()
    values = np.array([-8388608, -1, 0, 1, 8388607], dtype=np.int32)
    packed = b"".join(int(v).to_bytes(3, "little", signed=True) for v in values)
    with wave.open(str(tmp_path / "24.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(3)
        w.setframerate(8000)
        w.writeframes(packed)
    rate, read = read_wav(tmp_path / "24.wav")
    assert rate == 8000 and read.dtype == np.int32 and (read == values).all()


def test_wav_write_converts_sample_types(tmp_path: Path) -> None:
    cases = [
        (np.array([-1.0, 0.0, 0.5, 2.0]), [-32767, 0, 16384, 32767]),
        (np.array([0, 128, 255], dtype=np.uint8), [-32768, 0, 32512]),
        (np.array([65536, -65536], dtype=np.int32), [1, -1]),
        (np.array([5, -5]), [5, -5]),  # int64 within the int16 range
    ]
    for samples, expected in cases:
        (tmp_path / "w.wav").write_bytes(write_wav(8000, samples))
        assert read_wav(tmp_path / "w.wav")[1].tolist() == expected
    with pytest.raises(gr.Error, match="16-bit"):
        write_wav(8000, np.array([1 << 20]))
    with pytest.raises(gr.Error, match="sample rate"):
        write_wav(0, np.zeros(3))
    with pytest.raises(gr.Error, match="sample rate must be an int"):
        write_wav(np.zeros(3), 8000)  # the pair in the wrong order
    with pytest.raises(gr.Error, match="shape"):
        write_wav(8000, np.zeros((2, 2, 2)))


def test_audio_component_in_and_out(parts: Parts) -> None:
    samples = np.arange(-50, 50, dtype=np.int16)
    payload = parts.input(write_wav(22050, samples), "tone.wav")
    rate, read = parts.audio.preprocess(payload)
    assert rate == 22050 and (read == samples).all()
    assert parts.audio_path.preprocess(payload) == payload["path"]
    data = parts.audio.postprocess((22050, samples))
    assert data["path"].endswith("audio.wav")
    assert (read_wav(Path(data["path"]))[1] == samples).all()
    with pytest.raises(gr.Error, match="PCM WAV"):
        parts.audio.preprocess(parts.input(b"ID3 not a wav", "song.mp3"))
    with pytest.raises(gr.Error, match="sample_rate, samples"):
        parts.audio.postprocess(samples)
    with pytest.raises(ValueError, match="WAV"):
        gr.Audio(format="mp3")


# -- File ---------------------------------------------------------------------------------------


def test_image_webcam_options_reach_the_page() -> None:
    image = gr.Image(webcam_options=gr.WebcamOptions(mirror=False), render=False)
    assert image.own_props()["webcam_options"] == {"mirror": False, "constraints": None}
    assert gr.Image(render=False).own_props()["webcam_options"]["mirror"] is True
    with pytest.raises(TypeError, match="webcam_options"):
        gr.Image(webcam_options={"mirror": False}, render=False)


def test_audio_bytes_outputs_keep_their_encoding(parts: Parts) -> None:
    """Gradio saves returned bytes as a file; webui names it by its first bytes."""
    wav = wav_bytes(8000, np.zeros(8, np.int16), 2)
    data = parts.audio.postprocess(wav)
    assert data["path"].endswith(".wav") and Path(data["path"]).read_bytes() == wav
    assert parts.audio.postprocess(b"ID3\x04rest")["path"].endswith(".mp3")
    with pytest.raises(gr.Error, match="encoded WAV, MP3"):
        parts.audio.postprocess(b"not audio")


def test_audio_subtitles_reach_the_page_as_webvtt(parts: Parts, tmp_path: Path) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nHello\n")
    with parts.demo:
        from_file = gr.Audio(subtitles=str(srt))
        from_cues = gr.Audio(subtitles=[{"text": "Hi", "timestamp": [0, 1.5]}])
    vtt = Path(from_file.own_props()["subtitles"]["path"]).read_text()
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> 00:00:02.000" in vtt
    cues = Path(from_cues.own_props()["subtitles"]["path"]).read_text()
    assert "00:00:00.000 --> 00:00:01.500\nHi" in cues
    assert parts.audio.own_props()["subtitles"] is None
    with pytest.raises(ValueError, match="not a file"):
        gr.Audio(subtitles=str(tmp_path / "missing.srt"), render=False)
    with pytest.raises(ValueError, match="cue"):
        gr.Audio(subtitles=[{"text": "no time"}], render=False)


def test_file_types_and_counts(parts: Parts) -> None:
    text = parts.input(b"hello", "a.txt")
    image = parts.input(b"png", "b.PNG")
    pdf = parts.input(b"%PDF", "c.pdf")
    assert parts.file.preprocess(text) == text["path"]
    assert parts.file.preprocess(image) == image["path"]  # "image" matches by MIME type
    with pytest.raises(gr.Error, match=r"Invalid file type \.pdf"):
        parts.file.preprocess(pdf)
    assert parts.files.preprocess([text, pdf]) == [b"hello", b"%PDF"]
    with pytest.raises(gr.Error, match="list of FileData"):
        parts.files.preprocess(text)
    with pytest.raises(ValueError, match="file_types"):
        gr.File(file_types=".pdf")  # one string, not a list
    with pytest.raises(ValueError, match="file_count"):
        gr.File(file_count="many")


def test_file_paths_answer_name_as_gradio_3_files_did(parts: Parts) -> None:
    """Gradio's zip_files demo calls `file.name` on each input: a NamedString path."""
    text = parts.input(b"hello", "a.txt")
    path = parts.file.preprocess(text)
    assert path == text["path"] and path.name == text["path"] and isinstance(path, str)
    with parts.demo:
        several = gr.File(file_count="multiple")
    assert [p.name for p in several.preprocess([text, text])] == [text["path"]] * 2


def test_file_types_as_gradio_reads_them(parts: Parts) -> None:
    """Any word is a MIME category, so an unknown one is kept and matches nothing (Gradio's
    file_component_events demo builds one); extensions match by ending, compound ones too."""
    with parts.demo:
        unknown = gr.File(file_types=["invalid file_type"])
        compound = gr.File(file_types=[".nii.gz"])
        pdf = gr.File(file_types=[".pdf"])
    assert unknown.own_props()["file_types"] == ["invalid file_type"]
    with pytest.raises(gr.Error, match="Invalid file type"):
        unknown.preprocess(parts.input(b"hello", "a.txt"))
    assert compound.preprocess(parts.input(b"gz", "scan.NII.GZ")).endswith("scan.NII.GZ")
    with pytest.raises(gr.Error, match="Invalid file type"):
        compound.preprocess(parts.input(b"gz", "scan.gz"))
    with pytest.raises(gr.Error, match="Invalid file type"):
        pdf.preprocess(parts.input(b"%PDF", "pdf"))  # no extension at all


def test_file_outputs_and_schema(parts: Parts, tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("r")
    single = parts.file.postprocess(str(tmp_path / "r.txt"))
    assert Path(single["path"]).read_text() == "r"
    several = parts.files.postprocess([tmp_path / "r.txt", single])
    assert [Path(d["path"]) for d in several] == [Path(single["path"])] * 2
    assert parts.file.python_type == "filepath" and parts.files.python_type == "list[filepath]"
    assert parts.files.api_info()["title"] == "ListFiles"
    assert isinstance(parts.files.example_payload(), list)
    with pytest.raises(gr.Error, match="not exist"):
        parts.file.postprocess(str(tmp_path / "none.txt"))


# -- Interface annotations ----------------------------------------------------------------------


def test_annotations_map_to_images() -> None:
    assert component_for(np.ndarray, label="x").type == "numpy"
    assert component_for(npt.NDArray[np.uint8], label="x").type == "numpy"
    assert component_for(PILImage.Image, label="x").type == "pil"
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        component_for(bytes, label="x")


# -- end to end through gradio_client -----------------------------------------------------------


class Live:
    def __init__(self) -> None:
        def flip(image: np.ndarray) -> np.ndarray:
            return image[:, ::-1]

        def rotate(image: PILImage.Image) -> PILImage.Image:
            return image.rotate(90, expand=True)

        def louder(sound: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
            rate, samples = sound
            return rate // 2, samples[::-1] * 2

        def sizes(paths: list[str]) -> list[str]:
            names = []
            for path in paths:
                name = Path(path).with_suffix(".len").name
                names.append(
                    str(self.demo.files.cache_bytes(str(Path(path).stat().st_size).encode(), name))
                )
            return names

        with gr.Blocks() as demo:
            image, pil = gr.Image(), gr.Image(type="pil")
            audio = gr.Audio()
            files = gr.File(file_count="multiple")
            lengths = gr.File(file_count="multiple")
            gr.Button("flip").click(flip, image, image, api_name="flip")
            gr.Button("rotate").click(rotate, pil, pil, api_name="rotate")
            gr.Button("louder").click(louder, audio, audio, api_name="louder")
            gr.Button("sizes").click(sizes, files, lengths, api_name="sizes")
        self.demo = demo
        demo.queue(default_concurrency_limit=None)
        demo.launch(prevent_thread_lock=True, quiet=True)
        assert demo.local_url is not None
        self.url = demo.local_url
        self.client = Client(self.url, verbose=False)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    app = Live()
    yield app
    app.demo.close()


def test_client_round_trips_an_image_through_numpy(live: Live, tmp_path: Path) -> None:
    pixels = RNG.integers(0, 255, (8, 5, 3), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(png_bytes(pixels))
    result = live.client.predict(handle_file(str(tmp_path / "in.png")), api_name="/flip")
    assert (pixels_of(result) == pixels[:, ::-1]).all()
    rotated = live.client.predict(handle_file(str(tmp_path / "in.png")), api_name="/rotate")
    assert image_info(rotated)[1] == (8, 5)


def test_client_round_trips_audio(live: Live, tmp_path: Path) -> None:
    samples = RNG.integers(-1000, 1000, (64, 2), dtype=np.int16)
    (tmp_path / "in.wav").write_bytes(write_wav(16000, samples))
    result = live.client.predict(handle_file(str(tmp_path / "in.wav")), api_name="/louder")
    rate, read = read_wav(Path(result))
    assert rate == 8000 and (read == samples[::-1] * 2).all()


def test_client_sends_and_receives_several_files(live: Live, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"abc")
    (tmp_path / "b.bin").write_bytes(bytes(1000))
    inputs = [handle_file(str(tmp_path / "a.txt")), handle_file(str(tmp_path / "b.bin"))]
    results = live.client.predict(inputs, api_name="/sizes")
    assert [Path(p).read_text() for p in results] == ["3", "1000"]
    assert [Path(p).name for p in results] == ["a.len", "b.len"]


def test_view_api_types_file_parameters(live: Live) -> None:
    info = live.client.view_api(print_info=False, return_format="dict")
    endpoints = info["named_endpoints"]
    flip = endpoints["/flip"]["parameters"][0]
    assert flip["component"] == "Image" and flip["python_type"]["type"] == "filepath"
    assert endpoints["/sizes"]["parameters"][0]["python_type"]["type"] == "list[filepath]"
    assert endpoints["/louder"]["returns"][0]["component"] == "Audio"
    text = live.client.view_api(print_info=False, return_format="str")
    assert "image: filepath" in text


def test_output_urls_name_the_server_and_serve_the_file(live: Live, tmp_path: Path) -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    upload = httpx.post(
        f"{live.url}gradio_api/upload", files={"files": ("z.png", png_bytes(pixels))}
    )
    payload = {"path": upload.json()[0], "meta": META}
    run = httpx.post(f"{live.url}gradio_api/run/flip", json={"data": [payload]}).json()
    url = run["data"][0]["url"]
    assert url.startswith(f"{live.url}gradio_api/file=")
    served = httpx.get(url)
    assert served.headers["content-type"] == "image/png"
    assert (pixels_of(io.BytesIO(served.content)) == pixels).all()


def test_interface_infers_images_from_numpy_annotations(
    serve: Callable[[gr.Blocks], str], tmp_path: Path
) -> None:
    def invert(image: np.ndarray) -> np.ndarray:
        return 255 - image

    client = Client(serve(gr.Interface(invert)), verbose=False)
    pixels = RNG.integers(0, 255, (4, 4, 3), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(png_bytes(pixels))
    result = client.predict(handle_file(str(tmp_path / "in.png")), api_name="/invert")
    assert (pixels_of(result) == 255 - pixels).all()
