"""WAV files with the standard library's `wave`: PCM in as numpy arrays, 16-bit PCM out; and
the file suffix of other encoded audio, told by its first bytes.

Shapes: samples are [N] for mono or [N, C] for C channels.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

from webui.components.filedata import require
from webui.errors import Error


def read_wav(path: Path) -> tuple[int, Any]:
    """(sample_rate, samples) of a PCM WAV file: samples [N] mono or [N, C], in the file's
    integer dtype (uint8, int16, or int32 for 24- and 32-bit files)."""
    np = require("numpy", "numpy", "Audio(type='numpy')")
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as e:
        raise Error(
            f"Audio(type='numpy') reads PCM WAV files only, and this input is not one ({e}); "
            "use type='filepath' for other formats"
        ) from None
    if width not in (1, 2, 3, 4):
        raise Error(f"Audio cannot read {8 * width}-bit WAV samples")
    if width == 3:  # 24-bit little-endian, sign-extended into int32
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        samples = (triples[:, 0] << 8 | triples[:, 1] << 16 | triples[:, 2] << 24) >> 8
    else:
        samples = np.frombuffer(raw, {1: np.uint8, 2: "<i2", 4: "<i4"}[width]).astype(
            {1: np.uint8, 2: np.int16, 4: np.int32}[width]
        )
    return rate, samples.reshape(-1, channels) if channels > 1 else samples


def _as_int16(np: Any, samples: Any) -> Any:
    """16-bit PCM: floats are taken as [-1, 1], other integer widths rescaled."""
    kind = samples.dtype
    if kind == np.int16:
        return samples
    if np.issubdtype(kind, np.floating):
        return np.rint(np.clip(np.nan_to_num(samples), -1, 1) * 32767).astype(np.int16)
    if kind == np.int32:
        return (samples >> 16).astype(np.int16)
    if kind == np.uint8:
        return ((samples.astype(np.int16) - 128) << 8).astype(np.int16)
    if kind == np.int8:
        return samples.astype(np.int16) << 8
    if kind == np.uint16:
        return (samples.astype(np.int32) - 32768).astype(np.int16)
    if np.issubdtype(kind, np.integer) and (
        samples.size == 0 or (samples.min() >= -32768 and samples.max() <= 32767)
    ):
        return samples.astype(np.int16)
    raise Error(
        f"Audio cannot convert samples of dtype {kind} to 16-bit PCM; use float in [-1, 1] or int16"
    )


def write_wav(sample_rate: Any, samples: Any) -> bytes:
    """A 16-bit PCM WAV file of `samples` [N] mono or [N, C]."""
    np = require("numpy", "numpy", "Audio output of (sample_rate, array)")
    samples = np.asarray(samples)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise Error(f"Audio sample rate must be an int, got {type(sample_rate).__name__}")
    if not 0 < sample_rate < 2**31:
        raise Error(f"Audio sample rate must be positive, got {sample_rate}")
    if samples.ndim not in (1, 2) or (samples.ndim == 2 and not 1 <= samples.shape[1] <= 64):
        raise Error(f"Audio samples must be [N] or [N, channels]; got shape {samples.shape}")
    pcm = _as_int16(np, samples)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(int(sample_rate))
        wav.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


# The first bytes of the audio files browsers play, and the suffix each is saved under.
_MAGIC = ((b"RIFF", ".wav"), (b"ID3", ".mp3"), (b"OggS", ".ogg"), (b"fLaC", ".flac"))


def audio_suffix(data: bytes) -> str:
    """The suffix of encoded audio `data` (WAV, MP3, Ogg or FLAC), refused when unknown."""
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:  # an MPEG frame header
        return ".mp3"
    if data[4:8] == b"ftyp":
        return ".m4a"
    raise Error("Audio bytes must be an encoded WAV, MP3, Ogg, FLAC or M4A file")
