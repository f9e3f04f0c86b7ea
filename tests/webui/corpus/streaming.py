"""Corpus apps of the streaming family: generator outputs that stream text into the page, and
the webcam and microphone streaming into fn (Chromium's fake devices)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("streaming")


@table("a generator streams a story word by word; the page shows the text growing")
def streamed_story(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    story = ["once", "upon", "a", "time", "a", "page", "heard", "a", "stream", "of", "words"]

    def tell(hero: str) -> Iterator[str]:
        text = ""
        for word in [hero, *story]:
            text += word + " "
            time.sleep(0.05)
            yield text.strip()

    with gr.Blocks() as demo:
        hero = gr.Textbox("Ada", label="Hero", elem_id="hero")
        told = gr.Textbox(label="Story", lines=3, elem_id="story")
        gr.Button("Tell", elem_id="tell").click(tell, hero, told)

    def exercise(page: Page) -> None:
        final = " ".join(["Ada", *story])
        page.click("#tell button")
        seen: set[str] = set()
        deadline = time.monotonic() + 10
        while final not in seen and time.monotonic() < deadline:
            seen.add(page.value("#story textarea"))
            time.sleep(0.01)
        partial = {s for s in seen if s and s != final}
        assert len(partial) >= 2, sorted(seen)
        assert all(final.startswith(s) for s in seen)

    return demo, exercise


@table("Interface over a generator: Submit streams a countdown, Stop cancels it")
def streamed_countdown(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def countdown(start: float) -> Iterator[str]:
        for n in range(int(start), -1, -1):
            time.sleep(0.05)
            yield f"{n}…" if n else "liftoff"

    demo = gr.Interface(
        countdown, gr.Number(500, elem_id="start"), gr.Textbox(elem_id="count"), title="Countdown"
    )

    def exercise(page: Page) -> None:
        page.button("Submit").click()
        until(lambda: (page.value("#count input") or "").endswith("…"))
        first = page.value("#count input")
        until(lambda: page.value("#count input") != first)  # it streams
        page.button("Stop").click()
        until(lambda: page.visible_button("Submit"))
        stopped = page.value("#count input")
        time.sleep(0.2)
        assert page.value("#count input") == stopped != "liftoff"

    return demo, exercise


def numbered(text: str | None) -> int:
    """n of "frame n: ..." or "chunk n: ..." (0 before the first)."""
    return int(text.split(":")[0].split()[1]) if text else 0


@table("Image(sources=['webcam']).stream: Chromium's fake camera sends frames to fn")
def webcam_stream(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    frames = itertools.count(1)

    def measure(frame: Any) -> str:  # an (H, W, 3) array
        height, width = frame.shape[:2]
        return f"frame {next(frames)}: {width}x{height}"

    with gr.Blocks() as demo:
        camera = gr.Image(sources=["webcam"], elem_id="camera")
        seen = gr.Textbox(label="Seen", elem_id="seen")
        camera.stream(measure, camera, seen, stream_every=0.2, time_limit=20)

    def exercise(page: Page) -> None:
        next(b for b in page.all("#camera button") if b.text == "Record").click()
        until(lambda: numbered(page.value("#seen input")) >= 3)
        assert page.value("#seen input").endswith(": 640x480")  # the fake camera's size
        next(b for b in page.all("#camera button") if b.text == "Stop").click()
        until(lambda: page.visible_button("Record"))

    return demo, exercise


@table("Audio(sources=['microphone']).stream: the fake microphone's chunks reach fn")
def microphone_stream(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    chunks = itertools.count(1)

    def listen(chunk: tuple[int, Any]) -> str:  # (sample rate, samples)
        rate, samples = chunk
        return f"chunk {next(chunks)}: {rate} Hz, {'sound' if len(samples) else 'empty'}"

    with gr.Blocks() as demo:
        microphone = gr.Audio(sources=["microphone"], elem_id="microphone")
        heard = gr.Textbox(label="Heard", elem_id="heard")
        microphone.stream(listen, microphone, heard, stream_every=0.2, time_limit=20)

    def exercise(page: Page) -> None:
        next(b for b in page.all("#microphone button") if b.text == "Record").click()
        until(lambda: numbered(page.value("#heard input")) >= 3)
        assert page.value("#heard input").endswith("Hz, sound")
        next(b for b in page.all("#microphone button") if b.text == "Stop").click()
        until(lambda: page.visible_button("Record"))

    return demo, exercise
