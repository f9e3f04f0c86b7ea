"""Tool-call parsers: a chat reply's function calls in vLLM's `tool_call_parser` formats.

A model asked to call tools writes the calls into its reply in its family's syntax:
- `hermes` (Hermes 2 Pro, Qwen2.5, Qwen3): `<tool_call>\\n{"name": ..., "arguments": {...}}\\n
  </tool_call>` blocks, one a call, possibly after some text;
- `llama3_json` (Llama 3.1, 3.2): `{"name": ..., "parameters": {...}}`, at the start of the reply
  or after `<|python_tag|>`, several calls separated by `;`;
- `mistral`: `[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`, or the newer
  `[TOOL_CALLS]name[ARGS]{...}` once a call.

`ToolCallStream` takes a streamed reply apart into content deltas and OpenAI tool-call deltas
whose arguments go out as the model writes them; it holds back text that may begin a marker, so
no fragment of one reaches the content. `extract` runs it over a whole reply, so the two agree
however the deltas fall. Content is the text outside the calls, whitespace at its ends left out.

A call that does not parse (bad JSON, cut off, not an object) is content, and so is all after
it; the calls before it stand. A stream cannot take back a call it has begun: if that call then
breaks (the reply ends inside it, or its JSON is bad), the stream leaves it unfinished and sends
its text as content too. Content then agrees with `extract`; the stream has one more, unfinished
call, which `ToolCallStream.calls` (the calls that completed) leaves out.

`tool_grammars.forcing_grammar` writes the grammar under which a model can write only calls
that `extract` reads (tool_choice "required" or a named function).
"""

from __future__ import annotations

import json
import re
import secrets
import string
import uuid

from jaxserve.server.tool_formats import TOOL_PARSERS, CallLayout, ToolCall, ToolCallFormat

__all__ = [
    "TOOL_PARSERS",
    "CallLayout",
    "StreamEvent",
    "ToolCall",
    "ToolCallFormat",
    "ToolCallStream",
    "extract",
]


StreamEvent = str | dict[str, object]  # content text, or one OpenAI tool-call delta

_WHITESPACE = " \t\r\n"
_NAME_FIRST = re.compile(  # a call object up to its arguments, so they can stream as they come
    r'\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*'
    r'"(?:arguments|parameters)"\s*:\s*(?=\{)'
)
_FUNCTION_NAME = re.compile(r"[\w.\-]+")
_ID_CHARS = string.ascii_letters + string.digits


def extract(fmt: ToolCallFormat, text: str) -> tuple[str | None, list[ToolCall]]:
    """A whole reply as (content, calls); content is None where only whitespace is left."""
    stream = ToolCallStream(fmt)
    events = stream.feed(text) + stream.finish()
    content = "".join(event for event in events if isinstance(event, str))
    return (content or None), list(stream.calls)


class ToolCallStream:
    """Splits a streamed reply into content deltas and OpenAI tool-call deltas.

    `feed` and `finish` return events in reply order: a `str` is content; a dict is one entry
    of a chunk's `delta.tool_calls`, first `{"index", "id", "type": "function", "function":
    {"name", "arguments": ""}}` for a call, then `{"index", "function": {"arguments"}}`
    fragments. `calls` holds the calls that completed and parsed.
    """

    def __init__(self, fmt: ToolCallFormat):
        self.fmt = fmt
        self.calls: list[ToolCall] = []
        self._text = ""  # the reply so far
        self._pos = 0  # how far it has been read
        self._state = "outside"
        self._final = False
        self._at_reply_start = fmt.bare_json_start  # only whitespace read yet
        self._in_list = False
        self._content = _TrimmedContent()
        self._events: list[StreamEvent] = []
        self._opened = 0  # calls whose first delta was sent
        self._call_start = 0  # where the call being read begins: its text if it breaks
        self._object = _JsonEnd(0)
        self._object_start = 0
        self._args: _JsonEnd | None = None
        self._args_start = 0
        self._args_sent = 0
        self._name: str | None = None
        self._id: str | None = None  # set while a call's deltas are being sent

    def feed(self, delta: str) -> list[StreamEvent]:
        """The events that `delta` makes certain."""
        self._text += delta
        return self._run()

    def finish(self) -> list[StreamEvent]:
        """The events for what was held back, once the reply has ended."""
        self._final = True
        return self._run()

    def _run(self) -> list[StreamEvent]:
        steps = {
            "outside": self._step_outside,
            "after_start": self._step_after_start,
            "name": self._step_name,
            "object_next": self._step_object_next,
            "object": self._step_object,
            "after_call": self._step_after_call,
            "plain": self._step_plain,
        }
        while steps[self._state]():
            pass
        events, self._events = self._events, []
        return events

    def _step_outside(self) -> bool:
        text, pos = self._text, self._pos
        if self._at_reply_start:
            rest = text[pos:].lstrip(_WHITESPACE)
            self._pos = len(text) - len(rest)
            if not rest:
                return False
            self._at_reply_start = False
            if rest[0] == "{":
                self._call_start = self._pos
                return self._begin_object(self._pos, named=False)
            pos = self._pos
        at = text.find(self.fmt.start, pos)
        if at >= 0:
            self._send_content(text[pos:at])
            self._call_start, self._pos = at, at + len(self.fmt.start)
            self._state = "after_start"
            return True
        held = 0 if self._final else _partial_suffix(text[pos:], self.fmt.start)
        self._send_content(text[pos : len(text) - held])
        self._pos = len(text) - held
        return False

    def _step_after_start(self) -> bool:
        pos = self._skip_whitespace()
        if pos == len(self._text):
            return self._wait()
        char = self._text[pos]
        if char == "{":
            return self._begin_object(pos, named=False)
        if char == "[":
            self._in_list, self._pos, self._state = True, pos + 1, "object_next"
            return True
        if self.fmt.args_marker and _FUNCTION_NAME.match(char):
            self._state = "name"
            return True
        return self._break()

    def _step_name(self) -> bool:
        text, pos, marker = self._text, self._pos, self.fmt.args_marker
        at = text.find(marker, pos)
        if at < 0:
            name = _FUNCTION_NAME.match(text, pos)
            rest = text[name.end() if name else pos :]
            return self._wait() if marker.startswith(rest) else self._break()
        if not _FUNCTION_NAME.fullmatch(text, pos, at):
            return self._break()
        self._name, self._pos, self._state = text[pos:at], at + len(marker), "object_next"
        return True

    def _step_object_next(self) -> bool:
        """Before a list's next call object, or (name known) the arguments of a named call."""
        pos = self._skip_whitespace()
        if pos == len(self._text):
            return self._wait()
        if self._text[pos] == "{":
            return self._begin_object(pos, named=self._name is not None)
        return self._break()

    def _begin_object(self, pos: int, named: bool) -> bool:
        """Starts reading a call object (named: the arguments of a call already named)."""
        self._object, self._object_start, self._pos = _JsonEnd(pos), pos, pos
        self._args = self._object if named else None
        self._args_start, self._args_sent = pos, 0
        self._state = "object"
        return True

    def _step_object(self) -> bool:
        text = self._text
        if self._args is None:
            self._match_name_first()
        end = self._object.scan(text)
        if self._args is not None:
            if self._id is None:
                self._open_call()
            args_end = self._args.scan(text)
            upto = len(text) if args_end is None else args_end
            self._send_arguments(text[self._args_start + self._args_sent : upto])
        if end is None:
            return self._wait()
        self._pos = end
        return self._close_object(text[self._object_start : end])

    def _match_name_first(self) -> None:
        """Streams the arguments as they come where the name is written before them."""
        match = _NAME_FIRST.match(self._text, self._object_start)
        if not match:
            return
        try:
            self._name = json.loads(f'"{match.group(1)}"')
        except ValueError:
            return
        self._args_start, self._args = match.end(), _JsonEnd(match.end())

    def _close_object(self, raw: str) -> bool:
        if self._args is self._object and self._name is not None:
            call = (self._name, raw) if isinstance(_loads(raw), dict) else None
        else:
            call = _read_call(raw)
        if call is None:
            return self._break()
        name, arguments = call
        if self._id is None:
            self._name = name
        call_id = self._id if self._id is not None else self._open_call()
        sent = self._text[self._args_start : self._args_start + self._args_sent]
        if name != self._name or not arguments.startswith(sent):
            return self._break()
        self._send_arguments(arguments[self._args_sent :])
        self.calls.append(ToolCall(call_id, name, arguments))
        self._id, self._name, self._state = None, None, "after_call"
        return True

    def _step_after_call(self) -> bool:
        text, pos, fmt = self._text, self._skip_whitespace(), self.fmt
        if pos == len(text):
            return False
        if self._in_list:
            if text[pos] in ",]":
                self._in_list = text[pos] == ","
                self._state = "object_next" if self._in_list else "outside"
                self._pos = self._call_start = pos + 1
                return True
            self._call_start = pos
            return self._break()
        if fmt.end and text.startswith(fmt.end, pos):
            self._pos, self._state = pos + len(fmt.end), "outside"
            return True
        if fmt.end and fmt.end.startswith(text[pos:]):
            return False  # the closing tag, or at the reply's end a cut-off one: left out
        if fmt.separator and text[pos] == fmt.separator:
            self._pos = pos + 1
            return True
        if fmt.separator and text[pos] == "{":
            self._call_start = pos
            return self._begin_object(pos, named=False)
        self._state = "outside"
        return True

    def _step_plain(self) -> bool:
        self._send_content(self._text[self._pos :])
        self._pos = len(self._text)
        return False

    def _wait(self) -> bool:
        """More text is needed; at the reply's end, the call being read never completed."""
        return self._break() if self._final else False

    def _break(self) -> bool:
        """The call being read does not parse: it and all after it are content."""
        self._pos, self._state, self._id, self._in_list = self._call_start, "plain", None, False
        return True

    def _skip_whitespace(self) -> int:
        text, pos = self._text, self._pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self._pos = pos
        return pos

    def _send_content(self, text: str) -> None:
        text = self._content.add(text)
        if text and self._events and isinstance(self._events[-1], str):
            self._events[-1] += text
        elif text:
            self._events.append(text)

    def _open_call(self) -> str:
        self._id = _new_call_id(self.fmt)
        function = {"name": self._name, "arguments": ""}
        self._events.append(
            {"index": self._opened, "id": self._id, "type": "function", "function": function}
        )
        self._opened += 1
        return self._id

    def _send_arguments(self, fragment: str) -> None:
        if fragment:
            self._events.append({"index": self._opened - 1, "function": {"arguments": fragment}})
            self._args_sent += len(fragment)


class _TrimmedContent:
    """Content text with the whitespace at the two ends of the whole reply left out."""

    def __init__(self) -> None:
        self.started = False
        self.held = ""  # trailing whitespace: sent only if more content follows

    def add(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            if not text:
                return ""
            self.started = True
        text = self.held + text
        body = text.rstrip()
        self.held = text[len(body) :]
        return body


class _JsonEnd:
    """Finds where a JSON object or array closes in a growing text (strings and nesting only)."""

    def __init__(self, start: int):
        self.pos, self.depth, self.in_string, self.escaped = start, 0, False, False
        self.end: int | None = None

    def scan(self, text: str) -> int | None:
        """The index just past the closing bracket, or None while it is still open."""
        if self.end is not None:
            return self.end
        for pos in range(self.pos, len(text)):
            char = text[pos]
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif char == "\\":
                    self.escaped = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
                if self.depth == 0:
                    self.end = pos + 1
                    return self.end
        self.pos = len(text)
        return None


def _read_call(raw: str) -> tuple[str, str] | None:
    """(name, arguments JSON text) of a call object, or None if it is not one."""
    call = _loads(raw)
    if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
        return None
    key = next((key for key in ("arguments", "parameters") if key in call), None)
    if key is None:
        return call["name"], "{}"  # a call of a function without parameters
    if not isinstance(call[key], dict):
        return None
    return call["name"], _raw_values(raw)[key]


def _loads(raw: str) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _raw_values(raw: str) -> dict[str, str]:
    """The text of each member's value in a JSON object already known to be valid."""
    decoder, values = json.JSONDecoder(), {}  # raw_decode: a value and where it ends
    pos = _after_whitespace(raw, 1)
    while raw[pos] != "}":
        key, pos = decoder.raw_decode(raw, pos)
        pos = _after_whitespace(raw, _after_whitespace(raw, pos) + 1)  # past the colon
        _, end = decoder.raw_decode(raw, pos)
        values[key] = raw[pos:end]
        pos = _after_whitespace(raw, end)
        if raw[pos] == ",":
            pos = _after_whitespace(raw, pos + 1)
    return values


def _after_whitespace(text: str, pos: int) -> int:
    while text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _partial_suffix(text: str, marker: str) -> int:
    """The length of the longest end of `text` that begins `marker` (0 if none)."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


def _new_call_id(fmt: ToolCallFormat) -> str:
    if fmt.mistral_ids:
        return "".join(secrets.choice(_ID_CHARS) for _ in range(9))
    return f"call_{uuid.uuid4().hex[:24]}"
