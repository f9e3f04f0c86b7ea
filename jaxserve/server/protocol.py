"""OpenAI request bodies → `SamplingParams` and prompts, every bad field a 400 that names it.

Fields are read by hand rather than through a schema library: the rules are few, and each
error message can say exactly which field is wrong and what it accepts. Unknown fields are
refused (a typo such as `max_token` would otherwise be silently ignored), except a few that
OpenAI clients send and that change nothing here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from jaxserve.sampling_params import SamplingParams
from jaxserve.server.errors import BadRequest

MAX_LOGPROBS = 20
# OpenAI fields that clients send and that have no effect on generation here.
IGNORED = frozenset({"user", "metadata", "store", "service_tier", "parallel_tool_calls"})
COMMON = frozenset(
    {
        "model",
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "stream",
        "stream_options",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        # vLLM extras (the SDK's extra_body)
        "top_k",
        "min_p",
        "repetition_penalty",
        "min_tokens",
        "ignore_eos",
        "stop_token_ids",
        "skip_special_tokens",
        "include_stop_str_in_output",
    }
)
COMPLETION_FIELDS = COMMON | {"prompt", "echo", "suffix", "best_of"}
CHAT_FIELDS = COMMON | {
    "messages",
    "max_completion_tokens",
    "top_logprobs",
    "response_format",
    "tools",
    "tool_choice",
    "add_generation_prompt",
}
NUMBER = (int, float)


@dataclasses.dataclass(frozen=True)
class GenerationRequest:
    """A parsed completion or chat request; `prompts` are text or token ids."""

    model: str | None
    prompts: list[str | list[int]]
    params: SamplingParams
    stream: bool
    include_usage: bool
    echo: bool = False
    messages: list[dict[str, str]] | None = None
    add_generation_prompt: bool = True


class Fields:
    """Typed reads of a JSON object's fields; each error names the field."""

    def __init__(self, body: Any, allowed: frozenset[str]):
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        unknown = sorted(set(body) - allowed - IGNORED)
        if unknown:
            raise BadRequest(
                f"unknown field(s) {unknown}; this route takes {sorted(allowed)}",
                param=unknown[0],
            )
        self.body = body

    def get(self, name: str, kinds: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.body.get(name)
        if value is None:
            return default
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            raise BadRequest(f"{name} must be {names}, got {value!r}", param=name)
        return value

    def int_list(self, name: str) -> list[int] | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not _is_int_list(value):
            raise BadRequest(f"{name} must be a list of integers, got {value!r}", param=name)
        return value

    def string_list(self, name: str) -> str | list[str] | None:
        value = self.body.get(name)
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{name} must be a string or a list of strings", param=name)
        return value


_KIND_NAMES = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}
_KIND_NAMES |= {dict: "an object", list: "a list"}


def _is_int_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def _logit_bias(fields: Fields, vocab_size: int) -> dict[int, float] | None:
    raw = fields.get("logit_bias", dict)
    if raw is None:
        return None
    bias = {}
    for key, value in raw.items():
        try:
            token = int(key)
        except ValueError:
            raise BadRequest(
                f"logit_bias keys must be token ids, got {key!r}", param="logit_bias"
            ) from None
        if not 0 <= token < vocab_size:
            raise BadRequest(
                f"logit_bias token {token} is outside the vocabulary [0, {vocab_size})",
                param="logit_bias",
            )
        if isinstance(value, bool) or not isinstance(value, NUMBER) or not -100 <= value <= 100:
            raise BadRequest(
                f"logit_bias values must be numbers in [-100, 100], got {value!r}",
                param="logit_bias",
            )
        bias[token] = float(value)
    return bias


def _sampling_params(
    fields: Fields, *, max_tokens: int | None, logprobs: int | None, vocab_size: int
) -> SamplingParams:
    if logprobs is not None and not 0 <= logprobs <= MAX_LOGPROBS:
        raise BadRequest(
            f"logprobs must be in [0, {MAX_LOGPROBS}], got {logprobs}", param="logprobs"
        )
    stop_token_ids = fields.int_list("stop_token_ids")
    for token in stop_token_ids or []:
        if not 0 <= token < vocab_size:
            raise BadRequest(
                f"stop_token_ids holds {token}, outside the vocabulary [0, {vocab_size})",
                param="stop_token_ids",
            )
    try:
        return SamplingParams(
            n=fields.get("n", int, 1),
            temperature=float(fields.get("temperature", NUMBER, 1.0)),
            top_p=float(fields.get("top_p", NUMBER, 1.0)),
            top_k=fields.get("top_k", int, 0),
            min_p=float(fields.get("min_p", NUMBER, 0.0)),
            seed=fields.get("seed", int),
            presence_penalty=float(fields.get("presence_penalty", NUMBER, 0.0)),
            frequency_penalty=float(fields.get("frequency_penalty", NUMBER, 0.0)),
            repetition_penalty=float(fields.get("repetition_penalty", NUMBER, 1.0)),
            stop=fields.string_list("stop"),
            stop_token_ids=stop_token_ids,
            ignore_eos=fields.get("ignore_eos", bool, False),
            max_tokens=max_tokens,
            min_tokens=fields.get("min_tokens", int, 0),
            logprobs=logprobs,
            skip_special_tokens=fields.get("skip_special_tokens", bool, True),
            include_stop_str_in_output=fields.get("include_stop_str_in_output", bool, False),
            logit_bias=_logit_bias(fields, vocab_size),
        )
    except ValueError as e:
        raise BadRequest(str(e)) from None


def _stream_options(fields: Fields, stream: bool) -> bool:
    options = fields.get("stream_options", dict)
    if options is None:
        return False
    if not stream:
        raise BadRequest("stream_options needs stream=true", param="stream_options")
    unknown = sorted(set(options) - {"include_usage", "continuous_usage_stats"})
    if unknown:
        raise BadRequest(
            f"unknown stream_options {unknown}; valid: include_usage", param="stream_options"
        )
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise BadRequest("stream_options.include_usage must be a boolean", param="stream_options")
    return include


def _completion_prompts(fields: Fields) -> list[str | list[int]]:
    prompt = fields.body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if _is_int_list(prompt) and prompt:
        return [prompt]
    if (
        isinstance(prompt, list)
        and prompt
        and (all(isinstance(p, str) for p in prompt) or all(_is_int_list(p) for p in prompt))
    ):
        return list(prompt)
    raise BadRequest(
        "prompt must be a string, a list of strings, a list of token ids or a list of lists "
        "of token ids (none of them empty)",
        param="prompt",
    )


def parse_completion(body: Any, *, vocab_size: int) -> GenerationRequest:
    """`POST /v1/completions`."""
    fields = Fields(body, COMPLETION_FIELDS)
    if fields.body.get("suffix") is not None:
        raise BadRequest("suffix is not supported", param="suffix")
    prompts = _completion_prompts(fields)
    logprobs = fields.get("logprobs", int)
    echo = fields.get("echo", bool, False)
    if echo and logprobs is not None:
        raise BadRequest("echo together with logprobs is not supported", param="echo")
    params = _sampling_params(
        fields,
        max_tokens=fields.get("max_tokens", int, 16),
        logprobs=logprobs,
        vocab_size=vocab_size,
    )
    best_of = fields.get("best_of", int)
    if best_of is not None and best_of != params.n:
        raise BadRequest("best_of other than n is not supported", param="best_of")
    stream = fields.get("stream", bool, False)
    return GenerationRequest(
        model=fields.get("model", str),
        prompts=prompts,
        params=params,
        stream=stream,
        include_usage=_stream_options(fields, stream),
        echo=echo,
    )


def parse_message(index: int, message: Any) -> dict[str, str]:
    where = f"messages[{index}]"
    if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
        raise BadRequest(f"{where} must be an object with a string 'role'", param="messages")
    content = message.get("content")
    if isinstance(content, list):  # content parts: only text is understood here
        texts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise BadRequest(
                    f"{where} has a content part of type {kind!r}; only 'text' is supported",
                    param="messages",
                )
            texts.append(str(part.get("text", "")))
        content = "".join(texts)
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise BadRequest(f"{where}.content must be a string or a list of parts", param="messages")
    return {**{k: v for k, v in message.items() if isinstance(v, str)}, "content": content}


def parse_chat(body: Any, *, vocab_size: int) -> GenerationRequest:
    """`POST /v1/chat/completions`."""
    fields = Fields(body, CHAT_FIELDS)
    messages = fields.get("messages", list)
    if not messages:
        raise BadRequest("messages must be a non-empty list", param="messages")
    if fields.get("tools", list):
        raise BadRequest("tools are not supported by this server", param="tools")
    response_format = fields.get("response_format", dict)
    if response_format is not None and response_format.get("type") != "text":
        raise BadRequest(
            f"response_format {response_format.get('type')!r} is not supported; only 'text'",
            param="response_format",
        )
    top = fields.get("top_logprobs", int)
    wants = fields.get("logprobs", bool, False)
    if top is not None and not wants:
        raise BadRequest("top_logprobs needs logprobs=true", param="top_logprobs")
    max_tokens = fields.get("max_completion_tokens", int)
    if max_tokens is None:
        max_tokens = fields.get("max_tokens", int)
    params = _sampling_params(
        fields, max_tokens=max_tokens, logprobs=(top or 0) if wants else None, vocab_size=vocab_size
    )
    stream = fields.get("stream", bool, False)
    return GenerationRequest(
        model=fields.get("model", str),
        prompts=[],
        params=params,
        stream=stream,
        include_usage=_stream_options(fields, stream),
        messages=[parse_message(i, m) for i, m in enumerate(messages)],
        add_generation_prompt=fields.get("add_generation_prompt", bool, True),
    )


def expand(params: SamplingParams) -> list[SamplingParams]:
    """`n` samples become `n` sequences; seeded ones get seeds seed, seed + 1, ... (as `LLM`)."""
    if params.n == 1:
        return [params]
    return [
        dataclasses.replace(params, n=1, seed=None if params.seed is None else params.seed + i)
        for i in range(params.n)
    ]
