"""pydantic's `ValidationError` → one `BadRequest` whose message names the field and the rule.

The message reads `path: what is wrong, got value` (`temperature: must be >= 0, got -1`,
`messages[0].role: required`) and `param` is the top-level field, as OpenAI reports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from jaxserve.sampling_params import Bound
from jaxserve.server.errors import BadRequest
from jaxserve.server.served import ServedLimits


class Strict(BaseModel):
    """No unknown fields, no coercion (no `true` for 1, no `"2"` for 2), no NaN."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Model = TypeVar("Model", bound=BaseModel)
# A field's own message for its errors; None falls back to the general one.
Override = Callable[[ErrorDetails], str | None]

KINDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "a boolean",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "none_required": "null",
}
COMPARISONS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


# pydantic error types that OpenAI's API answers with a code of its own.
CODES = {"context_length_exceeded": "context_length_exceeded"}


def validate(
    model: type[Model],
    body: Any,
    limits: ServedLimits,
    *,
    bounds: Mapping[str, Bound],
    unions: Mapping[str, str],
    overrides: Mapping[str, Override],
) -> Model:
    """`body` as `model`, or the `BadRequest` of its first wrong field.

    `bounds` gives the whole range of a numeric field (pydantic reports one end only), `unions`
    what a field of several types accepts, `overrides` a field's own wording.
    """
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return model.model_validate(body, context={"limits": limits})
    except ValidationError as e:
        errors = e.errors(include_url=False)
    unknown = [err for err in errors if err["type"] == "extra_forbidden"]
    if unknown:
        raise _unknown_fields(model, unknown)
    field = errors[0]["loc"][0] if errors[0]["loc"] else None
    mine = [err for err in errors if err["loc"][:1] == errors[0]["loc"][:1]]
    # A field of several types fails once per type: the error past the type check is the one
    # that says what is wrong; when every type failed its type check, say what it accepts.
    deep = [err for err in mine if err["type"] not in KINDS]
    error = (deep or mine)[0]
    path = _path(error["loc"])
    message = None
    if isinstance(field, str) and field in overrides:
        message = overrides[field](error)
    if message is None and not deep and len(mine) > 1:
        leaf = next((p for p in reversed(error["loc"]) if isinstance(p, str) and p in unions), "")
        accepted = unions.get(leaf, "one of the types the schema lists")
        message = f"{path}: must be {accepted}, got {_shown(error['input'])}"
    if message is None:
        message = f"{path}: {_detail(error, bounds)}"
    code = CODES.get(error["type"])
    raise BadRequest(message, param=field if isinstance(field, str) else None, code=code)


def _unknown_fields(model: type[BaseModel], errors: list[ErrorDetails]) -> BadRequest:
    parent = errors[0]["loc"][:-1]
    where = _path(parent)
    names = sorted(str(err["loc"][-1]) for err in errors if err["loc"][:-1] == parent)
    if where:
        return BadRequest(f"{where}: unknown field(s) {names}", param=str(errors[0]["loc"][0]))
    takes = sorted(model.model_fields)
    return BadRequest(f"unknown field(s) {names}; this route takes {takes}", param=names[0])


def _detail(error: ErrorDetails, bounds: Mapping[str, Bound]) -> str:
    kind, ctx, got = error["type"], error.get("ctx") or {}, _shown(error["input"])
    name = next((p for p in reversed(error["loc"]) if isinstance(p, str) and _is_field(p)), "")
    if kind == "missing":
        return "required"
    if kind in KINDS:
        return f"must be {KINDS[kind]}, got {got}"
    if kind in COMPARISONS:
        bound = bounds.get(name)
        rule = bound.describe() if bound else f"{COMPARISONS[kind]} {next(iter(ctx.values()))}"
        return f"must be {rule}, got {got}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind in ("too_long", "string_too_long"):
        return f"must have at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {got}"
    return str(error["msg"])


def _path(loc: tuple[int | str, ...]) -> str:
    """`messages[0].content`: field names and indices, without pydantic's union branch tags."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]" or not _is_field(part):
            continue
        elif i + 1 < len(loc) and loc[i + 1] == "[key]":
            continue  # a dict key: the message names it
        else:
            text += f".{part}" if text else part
    return text


def _is_field(part: str) -> bool:
    """Whether a loc part is a field name rather than a union tag (`list[int]`, `TextPart`)."""
    return part.isidentifier() and part.islower() and part not in _TAGS


_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list"})


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."
