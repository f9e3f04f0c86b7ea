"""Seeded JSON schemas of the kinds clients send: objects, arrays, enums, nesting, numbers with
bounds, strings with lengths and patterns, optional fields, anyOf; every leaf is bounded, so a
model that follows the grammar ends its reply within a few hundred tokens."""

from __future__ import annotations

import random
from typing import Any

Schema = dict[str, Any]
PATTERNS = (
    r"^[a-z]{2,6}$",
    r"^[A-Z][0-9]{3}$",
    r"^(red|green|blue)-[0-9]$",
    r"^\d{4}-\d{2}-\d{2}$",
)
NAMES = ("id", "name", "size", "tags", "kind", "score", "when", "ok")
LEAVES = ("integer", "number", "string", "pattern", "enum", "boolean")


def _leaf(rng: random.Random, depth: int) -> Schema:
    kind = rng.choice(LEAVES + (("array", "object", "nullable") if depth < 2 else ()))
    if kind == "integer":
        low = rng.randint(-50, 50)
        return {"type": "integer", "minimum": low, "maximum": low + rng.randint(0, 500)}
    if kind == "number":
        low = rng.choice([-10.5, 0, 1.25, 100])
        return {"type": "number", "minimum": low, "maximum": low + rng.choice([1, 10, 1000])}
    if kind == "string":
        return {"type": "string", "minLength": rng.randint(0, 2), "maxLength": rng.randint(3, 8)}
    if kind == "pattern":
        return {"type": "string", "pattern": rng.choice(PATTERNS)}
    if kind == "enum":
        values = ["alpha", "beta", "gamma", "delta", 1, 2.5, None, True]
        return {"enum": rng.sample(values, rng.randint(1, 4))}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "array":
        items = _leaf(rng, depth + 1)
        return {"type": "array", "items": items, "minItems": rng.randint(0, 1), "maxItems": 3}
    if kind == "nullable":
        return {"anyOf": [{"type": "null"}, _leaf(rng, depth + 1)]}
    return _object(rng, depth + 1)


def _object(rng: random.Random, depth: int = 0) -> Schema:
    count = rng.randint(1, 4 - depth)
    properties = {f"{rng.choice(NAMES)}_{i}": _leaf(rng, depth) for i in range(count)}
    required = sorted(rng.sample(sorted(properties), rng.randint(1, count)))
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def json_schemas(count: int = 30, seed: int = 17) -> list[Schema]:
    """`count` schemas (at least 2): objects, then an array of objects and a bare leaf."""
    rng = random.Random(seed)
    schemas = [_object(rng) for _ in range(count - 2)]
    schemas.append({"type": "array", "items": _object(rng, 1), "minItems": 1, "maxItems": 2})
    schemas.append(_leaf(rng, 2))
    return schemas
