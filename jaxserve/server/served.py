"""Bounds that depend on the served model (vocabulary, context length, name).

`Served("token_id")` in a field's `Annotated[...]` does both halves of one rule: it checks the
value against the `ServedLimits` given as pydantic validation context, and marks the field's
JSON schema so `resolve_schema` writes the same bound (a `maximum`, `maxItems`, `pattern` or
`enum`) into each server's `/openapi.json`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

MARK = "x-served-limit"
Kind = Literal[
    "token_id",
    "token_key",
    "max_tokens",
    "prompt_ids",
    "model_name",
    "priority",
    "tool_choice",
    "image_part",
]


@dataclasses.dataclass(frozen=True)
class ServedLimits:
    """What one server's requests are checked against."""

    model_name: str
    vocab_size: int
    max_model_len: int
    priority_scheduling: bool = False  # the engine orders requests by `priority`
    tool_calls: bool = False  # a tool_call_parser reads calls out of replies
    images: bool = False  # the model takes images (chat image_url parts)


@dataclasses.dataclass(frozen=True)
class Served:
    """A bound of `kind` taken from the `ServedLimits` of the server (see the module doc)."""

    kind: Kind

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema[MARK] = self.kind
        return json_schema

    def check(self, value: Any, info: ValidationInfo) -> Any:
        limits = (info.context or {}).get("limits")
        if not isinstance(limits, ServedLimits):
            raise TypeError("validate requests with context={'limits': ServedLimits(...)}")
        vocab, length = limits.vocab_size, limits.max_model_len
        if self.kind == "token_id" and value >= vocab:
            raise _error(f"token id {value} is outside the vocabulary [0, {vocab})")
        if self.kind == "token_key" and not (_is_decimal(value) and int(value) < vocab):
            raise _error(f"keys must be token ids in [0, {vocab}), got {value!r}")
        if self.kind == "max_tokens" and value > length:
            raise _error(f"must be <= max_model_len ({length}), got {value}")
        if self.kind == "priority" and value != 0 and not limits.priority_scheduling:
            raise _error(
                f"must be 0 on this server, got {value}: requests are served first come, first "
                "served (scheduling_policy: priority orders them)"
            )
        if self.kind == "tool_choice" and value != "none" and not limits.tool_calls:
            raise _error(
                f"must be 'none' on this server, got {value!r}: no tool_call_parser is configured "
                "to read tool calls out of the model's replies"
            )
        if self.kind == "image_part" and not limits.images:
            raise _error(f"the model {limits.model_name!r} takes no images; send text parts only")
        if self.kind == "prompt_ids" and len(value) >= length:
            raise _error(
                f"the prompt has {len(value)} tokens, but max_model_len is {length} and at "
                "least one token must be generated",
                kind="context_length_exceeded",
            )
        return value


def _error(message: str, kind: str = "served_limit") -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def decimal_range_pattern(stop: int) -> str:
    """A regex (ECMA 262 and Python alike) of the canonical decimals 0 ... stop - 1."""
    top = str(stop - 1)
    parts = ["0"]
    if len(top) > 1:  # every shorter number
        parts.append("[1-9]" if len(top) == 2 else f"[1-9][0-9]{{0,{len(top) - 2}}}")
    for i, digit in enumerate(top):  # numbers of top's length that first fall below it at i
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(top) - i - 1
            tail = "" if rest == 0 else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
            below = str(low) if int(digit) - 1 == low else f"[{low}-{int(digit) - 1}]"
            parts.append(f"{top[:i]}{below}{tail}")
    if top != "0":
        parts.append(top)
    return "^(?:" + "|".join(parts) + ")$"


def resolve_schema(node: Any, limits: ServedLimits) -> Any:
    """A copy of the JSON schema `node` with every `Served` mark replaced by its bound."""
    if isinstance(node, list):
        return [resolve_schema(item, limits) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: resolve_schema(value, limits) for key, value in node.items() if key != MARK}
    kind = node.get(MARK)
    if kind == "token_id":
        out["maximum"] = limits.vocab_size - 1
    elif kind == "token_key":
        out["pattern"] = decimal_range_pattern(limits.vocab_size)
    elif kind == "max_tokens":
        out["maximum"] = limits.max_model_len
    elif kind == "prompt_ids":
        out["maxItems"] = limits.max_model_len - 1
    elif kind == "model_name":
        out["enum"] = [limits.model_name]
    elif kind == "priority" and not limits.priority_scheduling:
        out["minimum"] = out["maximum"] = 0
    elif kind == "tool_choice" and not limits.tool_calls:
        out = {"const": "none"}
    elif kind == "image_part" and not limits.images:
        out = dict(NOTHING)
    if "oneOf" in out and NOTHING in out["oneOf"]:  # a union without its impossible branches
        out["oneOf"] = [branch for branch in out["oneOf"] if branch != NOTHING]
        refs = {branch.get("$ref") for branch in out["oneOf"]}
        if "discriminator" in out:
            mapping = out["discriminator"].get("mapping", {})
            kept = {tag: ref for tag, ref in mapping.items() if ref in refs}
            out["discriminator"] = {**out["discriminator"], "mapping": kept}
    return out


# The schema of a union branch the served model does not take (images, on a text model).
NOTHING = {"not": {}, "description": "not taken by this model"}
