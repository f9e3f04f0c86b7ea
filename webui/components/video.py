"""Video: a video file passed through unchanged, as Gradio's gr.Video without ffmpeg.

Gradio converts videos with ffmpeg when `format` differs from the file's, and strips the audio
when `include_audio` is False; webui does not transcode, so those cases are refused with an error
that says so, and every other video is passed through as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    FILE_DATA_SCHEMA,
    Uploadable,
    check_initial_files,
    check_position,
    example_file,
    file_data,
    input_path,
    output_file_data,
    store_of,
)
from webui.components.watermark import WatermarkOptions
from webui.components.webvtt import webvtt
from webui.errors import Error
from webui.events import Changeable, _listener

_SOURCES = ("upload", "webcam")


class Video(Changeable, Uploadable, Component):
    block_type = "video"
    python_type = "filepath"
    example: ClassVar[Any] = example_file(
        "https://github.com/gradio-app/gradio/raw/main/gradio/media_assets/videos/world.mp4"
    )

    play = _listener("play")
    pause = _listener("pause")
    stop = _listener("stop")
    end = _listener("end")
    start_recording = _listener("start_recording")
    stop_recording = _listener("stop_recording")

    def __init__(
        self,
        value: str | Path | None = None,
        *,
        format: str | None = None,
        sources: list[str] | str | None = None,
        height: int | str | None = None,
        width: int | str | None = None,
        include_audio: bool | None = None,
        autoplay: bool = False,
        loop: bool = False,
        buttons: list[str] | None = None,
        watermark: WatermarkOptions | None = None,
        playback_position: float = 0,
        subtitles: str | Path | list[dict[str, Any]] | None = None,
        streaming: bool = False,
        **kwargs: Any,
    ):
        """`playback_position` is where the page starts playing, in seconds (an update seeks
        there); `subtitles` (.srt, .vtt, .json or a list of cues) play as WebVTT captions.
        `streaming=True` on a generator's output plays each yielded video file after the one
        before, and the final value is the whole stream (`webui.stream_outputs`)."""
        if watermark is not None and (
            not isinstance(watermark, WatermarkOptions) or watermark.watermark is not None
        ):
            raise ValueError(
                "Video(watermark=...) would overlay the image with ffmpeg; webui does not "
                "transcode videos: watermark the video before returning it"
            )
        sources = [sources] if isinstance(sources, str) else list(sources or _SOURCES)
        for source in sources:
            if source not in _SOURCES:
                raise ValueError(f"Video sources must be among {list(_SOURCES)}, got {source!r}")
        self.format = format.lower().lstrip(".") if format else None
        self.sources = sources
        self.height, self.width = height, width
        self.include_audio = include_audio if include_audio is not None else "upload" in sources
        self.autoplay, self.loop = autoplay, loop
        self.buttons = buttons
        self.playback_position = check_position("Video", playback_position)
        if isinstance(value, tuple):
            value, subtitles = value[0], value[1] if subtitles is None else subtitles
        if subtitles is not None and not isinstance(subtitles, list):
            check_initial_files(self, subtitles)
        self.subtitles = subtitles
        self.subtitles_vtt = None if subtitles is None else webvtt(subtitles)
        self.streaming = bool(streaming)
        check_initial_files(self, value)
        super().__init__(value, **kwargs)

    def _refuse_conversion(self, path: str, direction: str) -> None:
        suffix = Path(path).suffix.lower().lstrip(".")
        if self.format is not None and suffix != self.format:
            raise Error(
                f"Video(format={self.format!r}) would convert this .{suffix} {direction} with "
                "ffmpeg; webui does not transcode videos: drop format= or pass "
                f".{self.format} files"
            )

    def preprocess(self, payload: Any) -> str | None:
        path = input_path(self, payload)
        if path is None:
            return None
        self._refuse_conversion(str(path), "input")
        if not self.include_audio:
            raise Error(
                "Video(include_audio=False) would strip the audio with ffmpeg; webui does not "
                "transcode videos: pass include_audio=True"
            )
        return str(path)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if isinstance(value, tuple | list) and len(value) == 2:
            value = value[0]  # (video, subtitles): webui shows no subtitles
        if value is None:
            return None
        if isinstance(value, str | os.PathLike):
            self._refuse_conversion(os.fspath(value), "output")
        return output_file_data(self, value)

    def api_info(self) -> dict[str, Any]:
        return FILE_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "format": self.format,
            "sources": self.sources,
            "include_audio": self.include_audio,
            "autoplay": self.autoplay,
            "loop": self.loop,
            "streaming": self.streaming,
            "buttons": self.buttons or ["download", "share"],
        }
        for key in ("height", "width"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        props["playback_position"] = self.playback_position
        if self.subtitles_vtt is not None and self.root is not None:
            vtt = self.subtitles_vtt.encode()
            props["subtitles"] = file_data(store_of(self).cache_bytes(vtt, "subtitles.vtt"))
        return props


class PlayableVideo(Video):
    """Gradio's template: a Video with format="mp4"; other formats are refused, not converted."""

    is_template = True

    def __init__(self, value: str | Path | None = None, *, format: str = "mp4", **kwargs: Any):
        super().__init__(value, format=format, **kwargs)
