"""Dialogue: lines of a conversation, each a speaker and a text, as Gradio's gr.Dialogue.

The payload is a list of `{"speaker", "text"}` lines, or one string (the plain-text form, and
the whole value when `speakers` is empty). `fn` gets the lines joined into one string
(`type="text"`, each line by `formatter(speaker, text)`, default `"[speaker] text"`, joined by
`separator`) or the list itself (`type="list"`). The page edits lines with a speaker menu, or
the formatted text in a textarea (`ui_mode`); it turns the lines into text and back with the
server functions `format` and `unformat` (`unformatter(line, default_speaker)`), as Gradio's
page does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from webui.component import server_function
from webui.components.base import Component
from webui.errors import Error
from webui.events import Changeable, Submittable

_TYPES = ("text", "list")
_UI_MODES = ("dialogue", "text", "both")
DEFAULT_INFO = "Type colon (:) in the dialogue line to see the available tags"
LINE_SCHEMA = {
    "properties": {"speaker": {"type": "string"}, "text": {"type": "string"}},
    "required": ["speaker", "text"],
    "title": "DialogueLine",
    "type": "object",
}


def default_formatter(speaker: str, text: str) -> str:
    return f"[{speaker}] {text}"


def default_unformatter(line: str, default_speaker: str) -> dict[str, str]:
    """`"[speaker] text"` back into a line; text without a `[speaker]` goes to the default."""
    line = line.strip()
    if line.startswith("[") and "]" in line:
        end = line.index("]")
        return {"speaker": line[1:end], "text": line[end + 1 :].strip()}
    return {"speaker": default_speaker if line else "", "text": line}


def check_lines(value: Any) -> list[dict[str, str]] | str:
    """A payload as Gradio's DialogueModel takes it: a string, or lines with both keys."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple):
        raise Error(f"a Dialogue value is a list of {{speaker, text}} lines or a string: {value!r}")
    lines = []
    for line in value:
        if not (isinstance(line, dict) and isinstance(line.get("speaker"), str)) or not isinstance(
            line.get("text"), str
        ):
            raise Error(f"a Dialogue line is {{'speaker': str, 'text': str}}, got {line!r}")
        lines.append({"speaker": line["speaker"], "text": line["text"]})
    return lines


class Dialogue(Changeable, Submittable, Component):
    block_type = "dialogue"
    python_type = "list[dict(speaker: str, text: str)] | str"
    example: ClassVar[Any] = [
        {"speaker": "Speaker 1", "text": "Hello, how are you?"},
        {"speaker": "Speaker 2", "text": "I'm fine, thank you!"},
    ]

    def __init__(
        self,
        value: list[dict[str, str]] | str | Callable[..., Any] | None = None,
        *,
        type: str = "text",
        speakers: list[str] | None = None,
        formatter: Callable[[str, str], str] | None = None,
        unformatter: Callable[[str, str], dict[str, str]] | None = None,
        tags: list[str] | None = None,
        separator: str = "\n",
        color_map: dict[str, str] | None = None,
        label: str | None = "Dialogue",
        info: str | None = DEFAULT_INFO,
        placeholder: str | None = None,
        interactive: bool | None = None,
        autofocus: bool = False,
        autoscroll: bool = True,
        max_lines: int | None = None,
        buttons: list[str] | None = None,
        submit_btn: str | bool | None = False,
        ui_mode: str = "both",
        **kwargs: Any,
    ):
        if type not in _TYPES:
            raise ValueError(f"Dialogue type must be one of {_TYPES}, got {type!r}")
        if ui_mode not in _UI_MODES:
            raise ValueError(f"Dialogue ui_mode must be one of {_UI_MODES}, got {ui_mode!r}")
        if separator == " " or not isinstance(separator, str) or not separator:
            raise ValueError(f"Dialogue separator must be an unambiguous string, got {separator!r}")
        for name, given in (("formatter", formatter), ("unformatter", unformatter)):
            if given is not None and not callable(given):
                raise ValueError(f"Dialogue {name} must be a function, got {given!r}")
        unknown = [b for b in buttons or [] if b != "copy"]
        if unknown:
            raise ValueError(
                f"Dialogue buttons takes only 'copy' in webui (no custom gr.Button), got {unknown}"
            )
        if max_lines is not None and (isinstance(max_lines, bool) or max_lines < 1):
            raise ValueError(f"Dialogue max_lines must be a positive int, got {max_lines!r}")
        self.type, self.speakers, self.tags = type, list(speakers or []), list(tags or [])
        self.formatter, self.unformatter, self.separator = formatter, unformatter, separator
        self.color_map, self.placeholder, self.max_lines = color_map, placeholder, max_lines
        self.autofocus, self.autoscroll, self.buttons = autofocus, autoscroll, buttons or []
        self.submit_btn, self.ui_mode = submit_btn, ui_mode
        self.info = info if interactive else None  # as Gradio: no hint where nobody types
        super().__init__(value, label=label, interactive=interactive, **kwargs)

    def _format(self, lines: list[dict[str, str]] | str) -> str:
        if lines == "" or (isinstance(lines, list) and len(lines) == 1 and not lines[0]["text"]):
            return ""
        if isinstance(lines, str):
            return lines
        formatter = self.formatter or default_formatter
        return self.separator.join(formatter(line["speaker"], line["text"]) for line in lines)

    def preprocess(self, payload: Any) -> list[dict[str, str]] | str | None:
        if payload is None:
            return None
        lines = check_lines(payload)
        return lines if self.type == "list" else self._format(lines)

    def postprocess(self, value: Any) -> list[dict[str, str]] | str | None:
        return None if value is None else check_lines(value)

    def api_info(self) -> dict[str, Any]:
        return {
            "anyOf": [{"items": LINE_SCHEMA, "type": "array"}, {"type": "string"}],
            "title": "DialogueModel",
        }

    def own_props(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "speakers": self.speakers,
            "tags": self.tags,
            "separator": self.separator,
            "color_map": self.color_map,
            "info": self.info,
            "placeholder": self.placeholder,
            "autofocus": self.autofocus,
            "autoscroll": self.autoscroll,
            "max_lines": self.max_lines,
            "buttons": self.buttons,
            "submit_btn": self.submit_btn,
            "ui_mode": self.ui_mode,
            "server_fns": ["format", "unformat"],
        }

    # -- the page's conversions -------------------------------------------------------------

    @server_function
    def format(self, value: Any) -> str:
        """The lines as the text `fn` would get (the page shows and copies it)."""
        return self._format(check_lines(value if value is not None else []))

    @server_function
    def unformat(self, payload: Any) -> list[dict[str, str]]:
        """`{"text": formatted}` split by `separator` back into lines."""
        text = payload.get("text", "") if isinstance(payload, dict) else ""
        if not isinstance(text, str) or not text.strip():
            return []
        unformatter = self.unformatter or default_unformatter
        default_speaker = self.speakers[0] if self.speakers else "Unknown"
        lines = []
        for raw in text.split(self.separator):
            if not raw.strip():
                continue
            line = unformatter(raw.strip(), default_speaker)
            if line.get("speaker") or line.get("text"):
                lines.append({"speaker": str(line["speaker"]), "text": str(line["text"])})
        return lines
