"""Streamed media outputs: chunks marked is_stream in order, then the whole stream as one file."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client

import webui as gr
from webui.errors import Error
from webui.stream_outputs import join_chunks, streamed_outputs


def _wav(samples: np.ndarray, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype(np.int16).tobytes())
    return out.getvalue()


def _frames(path: str | Path) -> bytes:
    with wave.open(str(path), "rb") as f:
        return f.readframes(f.getnframes())


def test_chunks_are_joined_by_samples_or_bytes_and_mixes_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(_wav(np.arange(10)))
    b.write_bytes(_wav(np.arange(10, 15)))
    joined = tmp_path / "ab.wav"
    joined.write_bytes(join_chunks([a, b]))
    assert _frames(joined) == np.arange(15, dtype=np.int16).tobytes()
    one, two = tmp_path / "1.ts", tmp_path / "2.ts"
    one.write_bytes(b"\x47first")
    two.write_bytes(b"\x47second")
    assert join_chunks([one, two]) == b"\x47first\x47second"
    with pytest.raises(Error, match=r"\['.ts', '.wav'\]"):
        join_chunks([a, one])
    other_rate = tmp_path / "c.wav"
    other_rate.write_bytes(_wav(np.arange(3), rate=16000))
    with pytest.raises(Error, match="differ"):
        join_chunks([a, other_rate])


def test_audio_stream_reaches_gradio_client_chunk_by_chunk_then_whole(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    on_disk = tmp_path / "third.wav"
    on_disk.write_bytes(_wav(np.full(4, 7)))

    def speak(text: str):
        yield (8000, np.arange(6, dtype=np.int16))  # (sample_rate, samples)
        yield _wav(np.full(5, -3))  # encoded bytes
        yield str(on_disk)  # a path

    with gr.Blocks() as demo:
        text = gr.Textbox()
        out = gr.Audio(streaming=True, autoplay=True)
        text.submit(speak, text, out, api_name="speak")
    url = serve(demo)
    client = Client(url, verbose=False, download_files=str(tmp_path / "got"))
    job = client.submit("hi", api_name="/speak")
    whole = job.result(timeout=30)
    chunks = job.outputs()  # each chunk's message; the result is the last message's
    assert [_frames(c) for c in chunks] == [
        np.arange(6, dtype=np.int16).tobytes(),
        np.full(5, -3, dtype=np.int16).tobytes(),
        np.full(4, 7, dtype=np.int16).tobytes(),
    ]
    assert Path(whole).name == "audio-stream.wav"
    assert _frames(whole) == b"".join(_frames(c) for c in chunks)


def test_messages_mark_chunks_and_the_final_stream(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    first, second = tmp_path / "1.ts", tmp_path / "2.ts"
    first.write_bytes(b"\x47one")
    second.write_bytes(b"\x47two")

    def film():
        yield str(first)
        yield str(second)

    with gr.Blocks() as demo:
        button = gr.Button()
        out = gr.Video(streaming=True)
        button.click(film, None, out, api_name="film")
    assert out.props()["streaming"] is True
    url = serve(demo)
    job = Client(url, verbose=False, download_files=False).submit(api_name="/film")
    final = job.result(timeout=30)
    values = job.outputs()
    assert all(v["is_stream"] for v in [*values, final])
    assert [Path(v["path"]).read_bytes() for v in values] == [b"\x47one", b"\x47two"]
    assert final["orig_name"] == "video-stream.ts" and "/gradio_api/stream/" in final["url"]
    assert httpx.get(final["url"]).content == b"\x47one\x47two"
    wrong = final["url"].rsplit("/", 1)[0] + "/video-stream.mp4"
    assert httpx.get(wrong).status_code == 404  # another session's or output's: none either


def test_a_plain_generator_output_is_not_streamed(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    def tones():
        yield (8000, np.zeros(3, dtype=np.int16))

    with gr.Blocks() as demo:
        button = gr.Button()
        out = gr.Audio()
        button.click(tones, None, out, api_name="tones")
    url = serve(demo)
    final = Client(url, verbose=False, download_files=False).predict(api_name="/tones")
    assert not final["is_stream"] and "/gradio_api/file=" in final["url"]


def test_only_a_generators_streaming_media_outputs_stream() -> None:
    def chunks():
        yield None

    with gr.Blocks():
        audio, video, plain = gr.Audio(streaming=True), gr.Video(streaming=True), gr.Audio()
        generator = gr.Button().click(chunks, None, [plain, audio, video])
        ticks = gr.Timer(1).tick(lambda: None, None, audio)  # each tick is a run of its own
        returned = gr.Button().click(lambda: None, None, audio)
    assert streamed_outputs(generator) == [1, 2]
    assert streamed_outputs(ticks) == [] and streamed_outputs(returned) == []
