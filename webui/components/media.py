"""Image and Audio components and the FileData payloads they exchange (File: `file.py`).

Inputs arrive as FileData dicts naming an uploaded file; each passes the app's path policy
(`webui.files.FileStore.check`) before a function sees it. Outputs (paths, arrays, images) are
written or copied into the app's cache dir and leave as FileData with a `url` to fetch them.
numpy and Pillow are imported only when a value needs them.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from typing import Any, ClassVar

from webui.components.base import Component
from webui.components.filedata import (
    EXAMPLES_URL,
    FILE_DATA_SCHEMA,
    IMAGE_DATA_SCHEMA,
    Uploadable,
    check_initial_files,
    check_position,
    example_file,
    file_data,
    input_path,
    loaded_type,
    output_file_data,
    require,
    store_of,
)
from webui.components.watermark import WatermarkOptions, apply_watermark
from webui.components.wav import audio_suffix, read_wav, write_wav
from webui.components.waveform import WaveformOptions
from webui.components.webcam_options import WebcamOptions
from webui.components.webvtt import webvtt
from webui.errors import Error
from webui.events import Changeable, Playable, Selectable, Streamable

# -- Image ------------------------------------------------------------------------------------


def _as_uint8(np: Any, array: Any) -> Any:
    """uint8 pixels: floats in [0, 1] are scaled by 255, other values clipped to 0..255."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        array = np.nan_to_num(array)
        if array.size and array.min() >= 0 and array.max() <= 1:
            array = array * 255
        return np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return np.clip(array, 0, 255).astype(np.uint8)
    raise Error(f"Image cannot show an array of dtype {array.dtype}")


_IMAGE_SOURCES = ("upload", "webcam", "clipboard")
_AUDIO_SOURCES = ("upload", "microphone")


class Image(Changeable, Selectable, Streamable, Uploadable, Component):
    """An image: `fn` gets a numpy array [H, W, C], a PIL image or a file path (`type`).

    Returned arrays, PIL images and paths are saved into the cache dir (`format`, PNG by
    default) and sent as FileData.
    """

    block_type = "image"
    python_type = "filepath"
    example: ClassVar[Any] = example_file(EXAMPLES_URL + "bus.png")
    _TYPES = ("numpy", "pil", "filepath")

    def __init__(
        self,
        value: Any = None,
        *,
        type: str = "numpy",
        format: str = "png",
        image_mode: str | None = "RGB",
        sources: list[str] | tuple[str, ...] | None = None,
        height: int | str | None = None,
        width: int | str | None = None,
        buttons: list[str] | None = None,
        placeholder: str | None = None,
        watermark: WatermarkOptions | Any = None,
        webcam_options: WebcamOptions | None = None,
        streaming: bool = False,
        **kwargs: Any,
    ):
        """`streaming=True` (with `sources=["webcam"]`, its default then) makes a live Interface
        send webcam frames to `fn` as a `.stream()` event does."""
        if type not in self._TYPES:
            raise ValueError(f"Image type must be one of {self._TYPES}, got {type!r}")
        self.watermark = WatermarkOptions.of(watermark)
        self.webcam_options = WebcamOptions.of(webcam_options, "Image")
        if type != "filepath":
            require("PIL.Image", "pillow", f"Image(type={type!r})")
        if type == "numpy":
            require("numpy", "numpy", "Image(type='numpy')")
        self.type = type
        self.format = format.lower().lstrip(".")
        self.image_mode = image_mode
        default_sources = ("webcam",) if streaming else _IMAGE_SOURCES
        self.sources = [sources] if isinstance(sources, str) else list(sources or default_sources)
        if streaming and self.sources != ["webcam"]:
            raise ValueError(f"Image(streaming=True) needs sources=['webcam'], got {self.sources}")
        self.streaming = bool(streaming)
        self.height = height
        self.width = width
        self.buttons = buttons
        self.placeholder = placeholder
        check_initial_files(self, value)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> Any:
        path = input_path(self, payload)
        if path is None or self.type == "filepath":
            return None if path is None else str(path)
        pil = require("PIL.Image", "pillow", f"Image(type={self.type!r})")
        try:
            with pil.open(path) as opened:
                opened.load()
                image = opened.convert(self.image_mode) if self.image_mode else opened.copy()
        except (pil.UnidentifiedImageError, OSError):
            raise Error("the Image input is not an image file that Pillow can read") from None
        except pil.DecompressionBombError:
            raise Error("the Image input has too many pixels to decode safely") from None
        if self.type == "pil":
            return image
        return require("numpy", "numpy", "Image(type='numpy')").array(image)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        ndarray = loaded_type("numpy", "ndarray")
        if ndarray is not None and isinstance(value, ndarray):
            value = self._from_array(value)
        if self.watermark.watermark is not None and value is not None:
            value = self._watermarked(value)
        pil_image = loaded_type("PIL.Image", "Image")
        if pil_image is not None and isinstance(value, pil_image):
            return file_data(
                store_of(self).cache_bytes(self._encode(value), f"image.{self.format}")
            )
        if value is None or isinstance(value, str | os.PathLike | dict):
            return output_file_data(self, value)
        raise Error(
            f"Image cannot show a {type(value).__name__}; return a numpy array, a PIL image "
            "or a file path"
        )

    def _watermarked(self, value: Any) -> Any:
        """A PIL image of `value` (a PIL image, a path or FileData) with the watermark on it."""
        pil = require("PIL.Image", "pillow", "Image(watermark=...)")
        if isinstance(value, dict):
            value = value.get("path")
        if isinstance(value, str | os.PathLike):
            if os.fspath(value).lower().endswith((".svg", ".gif")):
                raise Error("Image(watermark=...) cannot watermark SVG or GIF files, as in Gradio")
            path = store_of(self).cache_file(value)  # the path policy decides, as for any output
            with pil.open(path) as opened:
                opened.load()
                value = opened.copy()
        if not isinstance(value, pil.Image):
            return value  # postprocess names what it cannot show
        return apply_watermark(value, self.watermark)

    def _from_array(self, array: Any) -> Any:
        np = sys.modules["numpy"]
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
            raise Error(f"Image arrays must be [H, W], [H, W, 3] or [H, W, 4]; got {array.shape}")
        pil = require("PIL.Image", "pillow", "Image output from a numpy array")
        return pil.fromarray(_as_uint8(np, array))

    def _encode(self, image: Any) -> bytes:
        if self.format in ("jpg", "jpeg") and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        try:
            image.save(out, format="JPEG" if self.format == "jpg" else self.format.upper())
        except (KeyError, ValueError, OSError) as e:
            raise Error(f"Image cannot save format {self.format!r}: {e}") from None
        return out.getvalue()

    def api_info(self) -> dict[str, Any]:
        return IMAGE_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "streamable": False,
            "format": self.format,
            "image_mode": self.image_mode,
            "sources": self.sources,
            "type": self.type,
            "streaming": self.streaming,  # set by .stream(): the page records and sends chunks
            "buttons": self.buttons or ["download", "share", "fullscreen"],
            "webcam_options": dataclasses.asdict(self.webcam_options),
        }
        for key in ("height", "width", "placeholder"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        return props


def image_type_for(hint: Any) -> str | None:
    """The Image `type` for a parameter annotated as numpy.ndarray (or NDArray[...]) or as
    PIL.Image.Image; None for any other annotation."""
    import typing

    hint = typing.get_origin(hint) or hint
    module, name = getattr(hint, "__module__", ""), getattr(hint, "__name__", "")
    if module == "numpy" and name == "ndarray":
        return "numpy"
    if module == "PIL.Image" and name == "Image":
        return "pil"
    return None


# -- Audio ------------------------------------------------------------------------------------


class Audio(Changeable, Playable, Streamable, Uploadable, Component):
    """Sound: `fn` gets (sample_rate, samples) from a WAV file (`type="numpy"`) or a path.

    Returned (sample_rate, samples) tuples are written as 16-bit WAV into the cache dir.
    """

    block_type = "audio"
    python_type = "filepath"
    example: ClassVar[Any] = example_file(EXAMPLES_URL + "audio_sample.wav")
    _TYPES = ("numpy", "filepath")

    def __init__(
        self,
        value: Any = None,
        *,
        type: str = "numpy",
        format: str = "wav",
        sources: list[str] | tuple[str, ...] | None = None,
        autoplay: bool = False,
        loop: bool = False,
        editable: bool = True,
        buttons: list[str] | None = None,
        streaming: bool = False,
        waveform_options: WaveformOptions | dict[str, Any] | None = None,
        subtitles: str | os.PathLike[str] | list[dict[str, Any]] | None = None,
        playback_position: float = 0,
        **kwargs: Any,
    ):
        if type not in self._TYPES:
            raise ValueError(f"Audio type must be one of {self._TYPES}, got {type!r}")
        self.waveform_options = WaveformOptions.of(waveform_options)
        if subtitles is not None and not isinstance(subtitles, list):
            check_initial_files(self, subtitles)
        # WebVTT, as Video sends its captions; read now so a bad file fails when the app is built
        self.subtitles = subtitles
        self.subtitles_vtt = None if subtitles is None else webvtt(subtitles)
        if format.lower().lstrip(".") != "wav":
            raise ValueError(f"Audio writes WAV files only, got format={format!r}")
        if type == "numpy":
            require("numpy", "numpy", "Audio(type='numpy')")
        self.type = type
        self.format = "wav"
        default_sources = ("microphone",) if streaming else _AUDIO_SOURCES
        self.sources = [sources] if isinstance(sources, str) else list(sources or default_sources)
        if streaming and "microphone" not in self.sources:
            raise ValueError(f"Audio(streaming=True) needs 'microphone' in sources: {self.sources}")
        # An input that streams the microphone in a live Interface, as .stream() does. As a
        # generator's output, the page plays the yielded chunks in turn: webui.stream_outputs.
        self.streaming = bool(streaming)
        self.autoplay = autoplay
        self.loop = loop
        self.editable = editable
        self.buttons = buttons
        self.playback_position = check_position("Audio", playback_position)  # the page seeks
        check_initial_files(self, value)
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> Any:
        path = input_path(self, payload)
        if path is None or self.type == "filepath":
            return None if path is None else str(path)
        return read_wav(path)

    def postprocess(self, value: Any) -> dict[str, Any] | None:
        if isinstance(value, tuple) and len(value) == 2:
            rate, samples = value
            return file_data(store_of(self).cache_bytes(write_wav(rate, samples), "audio.wav"))
        if isinstance(value, bytes):  # an encoded file, saved as it is (as Gradio does)
            return file_data(store_of(self).cache_bytes(value, f"audio{audio_suffix(value)}"))
        if value is None or isinstance(value, str | os.PathLike | dict):
            return output_file_data(self, value)
        raise Error(
            f"Audio cannot play a {type(value).__name__}; return (sample_rate, samples), encoded "
            "bytes or a file path"
        )

    def api_info(self) -> dict[str, Any]:
        return FILE_DATA_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {
            "streamable": False,
            "sources": self.sources,
            "type": self.type,
            "format": self.format,
            "streaming": self.streaming,  # set by .stream(): the page records and sends chunks
            "autoplay": self.autoplay,
            "loop": self.loop,
            "editable": self.editable,
            "buttons": self.buttons or ["download", "share"],
            "waveform_options": self.waveform_options.props(),
            "playback_position": self.playback_position,
            "subtitles": self._subtitles_file(),
        }

    def _subtitles_file(self) -> dict[str, Any] | None:
        """The captions as a WebVTT file in the cache (the page shows the current cue)."""
        if self.subtitles_vtt is None or self.root is None:
            return None
        vtt = self.subtitles_vtt.encode()
        return file_data(store_of(self).cache_bytes(vtt, "subtitles.vtt"))
