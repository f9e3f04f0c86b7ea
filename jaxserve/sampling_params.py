"""`SamplingParams`: how to decode one request, with vLLM's field names and defaults."""

from __future__ import annotations

import dataclasses
import json as json_module
from typing import Any

UINT32_MAX = 2**32 - 1  # seeds become one uint32 key per row
INT32_MAX = 2**31 - 1  # top_k travels as int32


@dataclasses.dataclass(frozen=True)
class Bound:
    """The numeric range of one field; an end left `None` is open. `note` explains odd values.

    One table (`BOUNDS`) serves `SamplingParams.__post_init__` and the server's request models,
    whose JSON schema carries the same numbers.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    note: str = ""

    def contains(self, value: float) -> bool:
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )

    def describe(self) -> str:
        """`in (0, 1]`, `>= 0`, ... with the note, if any, in parentheses."""
        low = ("[", self.ge) if self.ge is not None else ("(", self.gt)
        high = ("]", self.le) if self.le is not None else (")", self.lt)
        if low[1] is not None and low[1] == high[1]:
            text = _number(low[1])
        elif low[1] is not None and high[1] is not None:
            text = f"in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}"
        elif low[1] is not None:
            text = f"{'>=' if low[0] == '[' else '>'} {_number(low[1])}"
        elif high[1] is not None:
            text = f"{'<=' if high[0] == ']' else '<'} {_number(high[1])}"
        else:
            text = "any number"
        return f"{text} ({self.note})" if self.note else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


BOUNDS: dict[str, Bound] = {
    "n": Bound(ge=1),
    "temperature": Bound(ge=0, note="0: greedy"),
    "top_p": Bound(gt=0, le=1),
    "top_k": Bound(ge=-1, le=INT32_MAX, note="-1 or 0: off"),
    "min_p": Bound(ge=0, le=1),
    "seed": Bound(ge=0, le=UINT32_MAX),
    "presence_penalty": Bound(ge=-2, le=2),
    "frequency_penalty": Bound(ge=-2, le=2),
    "repetition_penalty": Bound(gt=0),
    "max_tokens": Bound(ge=1),
    "min_tokens": Bound(ge=0),
    "logprobs": Bound(ge=-1, note="-1: the whole vocabulary"),
    "prompt_logprobs": Bound(ge=-1, note="-1: the whole vocabulary"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class StructuredOutputsParams:
    """A grammar the output must follow (vLLM's `structured_outputs`): exactly one of
    `json` (a JSON schema, as a dict or its JSON text), `json_object` (any JSON object),
    `regex`, `choice` (one of these strings) or `grammar` (Lark or GBNF).

    The token mask is computed on the host as each token is drawn and applied inside the
    jitted sampler, so constrained and unconstrained requests share a batch.
    """

    json: dict[str, Any] | str | None = None
    json_object: bool = False
    regex: str | None = None
    choice: list[str] | None = None
    grammar: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in GRAMMAR_KINDS if getattr(self, name) not in (None, False)]
        if len(given) != 1:
            raise ValueError(
                "structured_outputs takes exactly one of json, json_object, regex, choice or "
                f"grammar; got {given or 'none'}"
            )
        if isinstance(self.json, str):
            try:
                schema = json_module.loads(self.json)
            except ValueError as e:
                raise ValueError(f"structured_outputs.json is not valid JSON: {e}") from None
            object.__setattr__(self, "json", schema)
        if self.json is not None and not isinstance(self.json, dict | bool):
            raise ValueError("structured_outputs.json must be a JSON schema (an object)")
        if self.choice is not None and (
            not self.choice or not all(isinstance(c, str) and c for c in self.choice)
        ):
            raise ValueError("structured_outputs.choice must be a non-empty list of strings")
        for name in ("regex", "grammar"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise ValueError(f"structured_outputs.{name} must be a non-empty string")

    @property
    def kind(self) -> str:
        return next(name for name in GRAMMAR_KINDS if getattr(self, name) not in (None, False))

    def key(self) -> str:
        """One string per distinct grammar (the compiled-grammar cache's key)."""
        value = getattr(self, self.kind)
        return self.kind + ":" + json_module.dumps(value, sort_keys=True, separators=(",", ":"))


GRAMMAR_KINDS = ("json", "json_object", "regex", "choice", "grammar")


@dataclasses.dataclass(kw_only=True)
class SamplingParams:
    """Decoding options of one request.

    `temperature=0` is greedy. Every invalid value raises `ValueError` naming the field.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 or -1: off
    min_p: float = 0.0
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    ignore_eos: bool = False
    max_tokens: int | None = 16
    min_tokens: int = 0
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    include_stop_str_in_output: bool = False
    skip_special_tokens: bool = True
    logit_bias: dict[int, float] | None = None
    # Words the output may not contain: the token that would complete one is barred (each
    # word as tokenized alone and after a space).
    bad_words: list[str] | None = None
    # Only these tokens may be drawn (applied as a token mask, like a grammar's).
    allowed_token_ids: list[int] | None = None
    structured_outputs: StructuredOutputsParams | None = None

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = list(self.stop or [])
        self.stop_token_ids = list(self.stop_token_ids or [])
        for name, bound in BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not bound.contains(value):
                raise ValueError(f"{name} must be {bound.describe()}, got {value}")
        if self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError(
                f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})"
            )
        if not all(s for s in self.stop):
            raise ValueError("stop strings must not be empty")
        self.bad_words = list(self.bad_words or [])
        if not all(isinstance(w, str) and w.strip() for w in self.bad_words):
            raise ValueError("bad_words must be non-blank strings")
        if self.allowed_token_ids is not None:
            self.allowed_token_ids = [int(t) for t in self.allowed_token_ids]
            if not self.allowed_token_ids or min(self.allowed_token_ids) < 0:
                raise ValueError("allowed_token_ids must be a non-empty list of token ids >= 0")
        if isinstance(self.structured_outputs, dict):
            self.structured_outputs = StructuredOutputsParams(**self.structured_outputs)

    def samples(self) -> list[SamplingParams]:
        """`n` samples as `n` one-sample params, each a sequence of its own; seeded ones get
        seeds seed, seed + 1, ... wrapped to stay a uint32."""
        if self.n == 1:
            return [self]
        return [
            dataclasses.replace(
                self, n=1, seed=None if self.seed is None else (self.seed + i) % (UINT32_MAX + 1)
            )
            for i in range(self.n)
        ]

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @property
    def stop_strings(self) -> list[str]:
        """`stop` as normalized in `__post_init__` (always a list)."""
        return self.stop if isinstance(self.stop, list) else []

    @property
    def stop_ids(self) -> list[int]:
        return self.stop_token_ids or []
