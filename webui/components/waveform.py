"""gr.WaveformOptions: how the page draws an Audio component's waveform, as Gradio's dataclass."""

from __future__ import annotations

import dataclasses
from typing import Any

_DEFAULT_SAMPLE_RATE = 44100


@dataclasses.dataclass
class WaveformOptions:
    """The looks of Audio's waveform in the page.

    Args:
        waveform_color: CSS colour of the waveform (None: the theme's muted colour).
        waveform_progress_color: CSS colour of the part already played (None: the accent).
        trim_region_color: Gradio's trim tool colour; webui's page has no trim tool, so only
            None is accepted.
        show_recording_waveform: True draws the waveform under the player; False leaves the
            browser's own audio player alone, as Gradio does.
        skip_length: the skip back/forward buttons move by this percentage (0-100) of the sound.
        sample_rate: the rate of audio edited in the page; webui's page does not edit audio, so
            only Gradio's default (44100) is accepted.
    """

    waveform_color: str | None = None
    waveform_progress_color: str | None = None
    trim_region_color: str | None = None
    show_recording_waveform: bool = True
    skip_length: int | float = 5
    sample_rate: int = _DEFAULT_SAMPLE_RATE

    def __post_init__(self) -> None:
        for name in ("waveform_color", "waveform_progress_color"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"WaveformOptions {name} must be a CSS colour string or None")
        if self.trim_region_color is not None:
            raise ValueError(
                "WaveformOptions(trim_region_color=...) colours Gradio's trim tool; webui's page "
                "has no trim tool: leave it None"
            )
        if self.sample_rate != _DEFAULT_SAMPLE_RATE:
            raise ValueError(
                f"WaveformOptions(sample_rate={self.sample_rate!r}) resamples audio edited in the "
                f"page; webui's page does not edit audio: leave it {_DEFAULT_SAMPLE_RATE}"
            )
        if isinstance(self.skip_length, bool) or not isinstance(self.skip_length, int | float):
            raise TypeError("WaveformOptions skip_length must be a number (a percentage)")
        if not 0 <= self.skip_length <= 100:
            raise ValueError(f"WaveformOptions skip_length is a percentage, got {self.skip_length}")

    @classmethod
    def of(cls, options: WaveformOptions | dict[str, Any] | None) -> WaveformOptions:
        """Audio's `waveform_options=` as Gradio takes it: an instance, a dict of fields or None."""
        if options is None:
            return cls()
        if isinstance(options, dict):
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(options) - fields)
            if unknown:
                raise ValueError(
                    f"WaveformOptions has no fields {unknown}; it has {sorted(fields)}"
                )
            return cls(**options)
        if isinstance(options, cls):
            return options
        raise TypeError(
            f"Audio waveform_options must be gr.WaveformOptions, a dict or None, got "
            f"{type(options).__name__}"
        )

    def props(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
