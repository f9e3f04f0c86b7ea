"""The tool-call formats of vLLM's `tool_call_parser` names: their markers, and how a forcing
grammar spells their calls (`tool_parsers` reads them, `tool_grammars` writes them)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the arguments object's JSON text as the model wrote it


@dataclasses.dataclass(frozen=True, kw_only=True)
class CallLayout:
    """How `forcing_grammar` writes calls: the format's usual spelling."""

    before_calls: str = ""
    before_call: str = ""
    between_calls: str
    after_call: str = ""
    after_calls: str = ""
    arguments_key: str = "arguments"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToolCallFormat:
    name: str
    start: str  # the marker before a call, or before a list of calls
    end: str = ""  # the tag that closes a call; a reply may leave out the last one
    separator: str = ""  # between calls that have no marker each
    bare_json_start: bool = False  # a reply that opens with `{` is a call without the marker
    args_marker: str = ""  # the newer `name[ARGS]{...}` form after the start marker
    mistral_ids: bool = False  # ids of 9 letters and digits, not `call_` and 24 hex digits
    layout: CallLayout


TOOL_PARSERS = {
    "hermes": ToolCallFormat(
        name="hermes",
        start="<tool_call>",
        end="</tool_call>",
        layout=CallLayout(
            before_call="<tool_call>\n", after_call="\n</tool_call>", between_calls="\n"
        ),
    ),
    "llama3_json": ToolCallFormat(
        name="llama3_json",
        start="<|python_tag|>",
        separator=";",
        bare_json_start=True,
        layout=CallLayout(between_calls="; ", arguments_key="parameters"),
    ),
    "mistral": ToolCallFormat(
        name="mistral",
        start="[TOOL_CALLS]",
        args_marker="[ARGS]",
        mistral_ids=True,
        layout=CallLayout(before_calls="[TOOL_CALLS][", between_calls=", ", after_calls="]"),
    ),
}
