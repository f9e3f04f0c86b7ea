"""WebVTT for Video's subtitles: Gradio's forms (an .srt, .vtt or .json file, or a list of
{"text", "timestamp": [start, end]} cues in seconds) as the text browsers play."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_SRT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})")


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def _from_cues(cues: Any) -> str:
    if not isinstance(cues, list):
        raise ValueError(f"subtitles JSON must be a list of cues, got {type(cues).__name__}")
    blocks = ["WEBVTT"]
    for cue in cues:
        try:
            start, end = cue["timestamp"]
            blocks.append(f"{_clock(float(start))} --> {_clock(float(end))}\n{cue['text']}")
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"a subtitle cue is {{'text': str, 'timestamp': [start, end]}}, got {cue!r}"
            ) from None
    return "\n\n".join(blocks) + "\n"


def webvtt(subtitles: str | os.PathLike[str] | list[dict[str, Any]]) -> str:
    """WebVTT text of `subtitles`; ValueError names a form it cannot read."""
    if isinstance(subtitles, list):
        return _from_cues(subtitles)
    path = Path(subtitles)
    suffix = path.suffix.lower()
    if suffix not in (".srt", ".vtt", ".json"):
        raise ValueError(f"subtitles must be an .srt, .vtt or .json file, got {path.name!r}")
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".vtt":
        return text
    if suffix == ".json":
        return _from_cues(json.loads(text))
    # WebVTT writes hours with two digits and milliseconds after a dot (SRT: a comma).
    times = _SRT_TIME.sub(lambda m: "{:02d}:{}:{}.{}".format(int(m[1]), *m.groups()[1:]), text)
    return "WEBVTT\n\n" + times.replace("\r\n", "\n")
