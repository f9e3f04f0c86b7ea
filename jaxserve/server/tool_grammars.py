"""Grammars that force tool calls: tool_choice "required" or a named function, in the reply
syntax of a `ToolCallFormat`, so that `tool_parsers.extract` always reads the calls back."""

from __future__ import annotations

import json

from jaxserve.server.tool_formats import ToolCallFormat

_NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}
# JSON spaced as these models write it, and no more: with free whitespace a model can spend
# its whole budget on newlines (as in engine/structured.py). A schema's "x-guidance" overrides.
_JSON_SPACING = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def forcing_grammar(
    fmt: ToolCallFormat, tools: list[dict], choice: str | None, *, parallel: bool = True
) -> str:
    """An llguidance Lark grammar whose every sentence `extract` parses into calls.

    Args:
        fmt: the format the calls are written in, as `fmt.layout` spells it.
        tools: OpenAI tools, `{"type": "function", "function": {"name", "parameters"?}}`;
            a function without `parameters` takes none (its arguments are `{}`).
        choice: a function's name for exactly one call to it; None for one call or more,
            each to any of the tools (tool_choice "required").
        parallel: False: one call only, also where `choice` is None.

    Markers such as `[TOOL_CALLS]` and `<tool_call>` are written as text: where a tokenizer
    has them as special tokens, the model must spell them out of ordinary tokens.

    Raises:
        ValueError: a tool is not a function with a name, there are none, or `choice` names
            none of them.
    """
    functions = [_function_of(tool) for tool in tools]
    names = [function["name"] for function in functions]
    if not functions:
        raise ValueError("forcing a tool call needs at least one tool in 'tools'")
    if choice is not None and choice not in names:
        raise ValueError(f"tool_choice names function {choice!r}; the tools are {names}")
    layout, rules, calls = fmt.layout, [], []
    for index, function in enumerate(functions):
        if choice is not None and function["name"] != choice:
            continue
        schema: dict = function.get("parameters") or _NO_PARAMETERS
        schema = {"type": "object", **schema}
        schema["x-guidance"] = {**_JSON_SPACING, **schema.get("x-guidance", {})}
        opening = f'{layout.before_call}{{"name": {json.dumps(function["name"])}, '
        opening += f'"{layout.arguments_key}": '
        closing = "}" + layout.after_call
        rules.append(f"call_{index}: {_lark_string(opening)} args_{index} {_lark_string(closing)}")
        rules.append(f"args_{index}: %json {json.dumps(schema)}")
        calls.append(f"call_{index}")
    between = _lark_string(layout.between_calls)
    body = "call" if choice is not None or not parallel else f"call ({between} call)*"
    start = " ".join(
        part
        for part in (_lark_string(layout.before_calls), body, _lark_string(layout.after_calls))
        if part
    )
    return "\n".join([f"start: {start}", f"call: {' | '.join(calls)}", *rules]) + "\n"


def _function_of(tool: dict) -> dict:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type") != "function":
        raise ValueError(f"a tool must be {{'type': 'function', 'function': {{...}}}}: {tool!r}")
    if not isinstance(function.get("name"), str) or not function["name"]:
        raise ValueError(f"a tool's function needs a 'name': {tool!r}")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValueError(f"function {function['name']!r}: 'parameters' must be a JSON schema")
    return function


def _lark_string(text: str) -> str:
    """A Lark string literal for `text` ("" for none: the caller leaves it out)."""
    return json.dumps(text, ensure_ascii=False) if text else ""
