"""The OpenAI request bodies as pydantic models: one declaration for validation and schema.

Each field's type, range and default are declared once, here; `validation.validate` turns a
failure into a 400 that names the field, `openapi` builds `/openapi.json` from the same models,
and `to_sampling_params` is the one place a request becomes `SamplingParams`. Ranges shared
with the offline API come from `sampling_params.BOUNDS`; bounds set by the served model
(vocabulary, context length, name) are `Served` marks, checked and written per server.
Unknown fields are refused (a typo such as `max_token` would otherwise be silently ignored),
except a few that OpenAI clients send and that change nothing here.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints

from jaxserve.sampling_params import BOUNDS, Bound, SamplingParams
from jaxserve.server.errors import BadRequest
from jaxserve.server.formats import (
    ONE_GRAMMAR,
    TOOL_CHOICE_NEEDS_TOOLS,
    ResponseFormat,
    StructuredOutputsBody,
    Tool,
    ToolChoice,
    ToolUse,
    structured_outputs,
    tool_use,
)
from jaxserve.server.messages import ChatOptions, Message, TemplateOptions
from jaxserve.server.served import Served, ServedLimits
from jaxserve.server.validation import Override, Strict, validate

MAX_LOGPROBS = 20
MAX_N = 128  # OpenAI's own limit; every sample is a sequence in the engine's queue
# Ranges of the server's fields: the offline API's, plus the server's own.
SERVER_BOUNDS = {
    **BOUNDS,
    "n": dataclasses.replace(BOUNDS["n"], le=MAX_N),
    "logprobs": Bound(ge=0, le=MAX_LOGPROBS),
    "top_logprobs": Bound(ge=0, le=MAX_LOGPROBS),
    "prompt_logprobs": Bound(ge=0, le=MAX_LOGPROBS),
    "logit_bias": Bound(ge=-100, le=100),
    "best_of": Bound(ge=1, le=1, note="n gives several samples"),
}
# OpenAI fields that clients send and that have no effect on generation here.
IGNORED = frozenset({"user", "metadata", "store", "service_tier"})


def _within(name: str) -> Any:
    """The `Field` of a number within `SERVER_BOUNDS[name]` (so its JSON schema has the range)."""
    bound = SERVER_BOUNDS[name]
    return Field(ge=bound.ge, gt=bound.gt, le=bound.le, lt=bound.lt)


def _whole_number(value: Any) -> Any:
    """JSON Schema's `integer` takes 2.0 (a number without a fraction): so do the models."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer as JSON Schema means it: 2 or 2.0, never true or "2" (after the range, which
# must come first to stay in the schema).
WHOLE = BeforeValidator(_whole_number)
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
TokenId = Annotated[int, Field(ge=0), WHOLE, Served("token_id")]
TokenIds = Annotated[list[TokenId], Field(min_length=1), Served("prompt_ids")]
MaxTokens = Annotated[int, _within("max_tokens"), WHOLE, Served("max_tokens")]
N = Annotated[int, _within("n"), WHOLE]
Temperature = Annotated[float, _within("temperature")]
TopP = Annotated[float, _within("top_p")]
Seed = Annotated[int, _within("seed"), WHOLE]
PresencePenalty = Annotated[float, _within("presence_penalty")]
FrequencyPenalty = Annotated[float, _within("frequency_penalty")]
BiasValue = Annotated[float, _within("logit_bias")]
TopK = Annotated[int, _within("top_k"), WHOLE]
MinP = Annotated[float, _within("min_p")]
RepetitionPenalty = Annotated[float, _within("repetition_penalty")]
Logprobs = Annotated[int, _within("logprobs"), WHOLE]
BestOf = Annotated[int, _within("best_of"), WHOLE]
TopLogprobs = Annotated[int, _within("top_logprobs"), WHOLE]
PromptLogprobs = Annotated[int, _within("prompt_logprobs"), WHOLE]
Priority = Annotated[int, Field(ge=-(2**31), le=2**31 - 1), WHOLE, Served("priority")]
TruncatePromptTokens = Annotated[int, Field(ge=1), WHOLE] | Literal[-1]
NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]
ModelName = Annotated[str, Served("model_name")]
MinTokens = Annotated[int, _within("min_tokens"), WHOLE, Served("max_tokens")]

# Rules across fields, in JSON Schema (checked in code too, where each names its field).
STREAM_OPTIONS_NEED_STREAM: dict[str, Any] = {
    "if": {"properties": {"stream_options": {"type": "object"}}, "required": ["stream_options"]},
    "then": {"properties": {"stream": {"const": True}}, "required": ["stream"]},
}
SAMPLING_RULES = [STREAM_OPTIONS_NEED_STREAM, ONE_GRAMMAR]
CONTINUE_OR_GENERATION_PROMPT: dict[str, Any] = {
    "if": {
        "properties": {"continue_final_message": {"const": True}},
        "required": ["continue_final_message"],
    },
    "then": {"properties": {"add_generation_prompt": {"not": {"const": True}}}},
}
TOP_LOGPROBS_NEED_LOGPROBS: dict[str, Any] = {
    "if": {"properties": {"top_logprobs": {"type": "integer"}}, "required": ["top_logprobs"]},
    "then": {"properties": {"logprobs": {"const": True}}, "required": ["logprobs"]},
}


class RequestBody(Strict):
    model: ModelName | None = None
    # IGNORED: accepted, typed as OpenAI documents them, and unused
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None


class StreamOptions(Strict):
    include_usage: bool | None = None
    continuous_usage_stats: bool | None = None


class SamplingBody(RequestBody):
    """The fields every generation route shares; most map one to one onto `SamplingParams`."""

    model_config = ConfigDict(json_schema_extra={"allOf": SAMPLING_RULES})

    n: N | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    stop: NonEmpty | list[NonEmpty] | None = None
    seed: Seed | None = None
    presence_penalty: PresencePenalty | None = None
    frequency_penalty: FrequencyPenalty | None = None
    logit_bias: dict[Annotated[str, Served("token_key")], BiasValue] | None = None
    # vLLM's extras (the SDK's extra_body)
    top_k: TopK | None = None
    min_p: MinP | None = None
    repetition_penalty: RepetitionPenalty | None = None
    min_tokens: MinTokens | None = None
    ignore_eos: bool | None = None
    stop_token_ids: list[TokenId] | None = None
    skip_special_tokens: bool | None = None
    include_stop_str_in_output: bool | None = None
    # The log-probability of every prompt token after the first, and its `prompt_logprobs`
    # most likely alternatives (vLLM's `prompt_logprobs` in the response).
    prompt_logprobs: PromptLogprobs | None = None
    priority: Priority | None = None
    cache_salt: NonEmpty | None = None
    bad_words: list[NonBlank] | None = None
    # Keep only the prompt's last this many tokens (-1: as many as max_model_len allows).
    truncate_prompt_tokens: TruncatePromptTokens | None = None
    response_format: ResponseFormat | None = None
    structured_outputs: StructuredOutputsBody | None = None
    allowed_token_ids: Annotated[list[TokenId], Field(min_length=1)] | None = None

    def grammar_field(self) -> str:
        return "response_format" if self.structured_outputs is None else "structured_outputs"

    def output_limit(self) -> int | None:
        raise NotImplementedError

    def num_logprobs(self) -> int | None:
        raise NotImplementedError

    def to_sampling_params(self) -> SamplingParams:
        """The one conversion of a request to `SamplingParams`.

        `min_tokens` above `max_tokens` is cut to it: the output ends at `max_tokens` and EOS
        stays barred to the end (JSON Schema cannot compare two fields, so it is not a 400).
        """
        shared = {f.name for f in dataclasses.fields(SamplingParams)} & set(type(self).model_fields)
        values = {name: getattr(self, name) for name in shared}
        values = {name: value for name, value in values.items() if value is not None}
        values["max_tokens"] = self.output_limit()
        values["logprobs"] = self.num_logprobs()
        if self.logit_bias is not None:
            values["logit_bias"] = {int(k): float(v) for k, v in self.logit_bias.items()}
        values["structured_outputs"] = structured_outputs(
            self.response_format, self.structured_outputs
        )
        if values["max_tokens"] is not None and self.min_tokens is not None:
            values["min_tokens"] = min(self.min_tokens, values["max_tokens"])
        try:
            return SamplingParams(**values)
        except ValueError as e:  # the models check every range first; this is a safety net
            raise BadRequest(str(e)) from None

    def include_usage(self) -> bool:
        if self.stream_options is not None and not self.stream:
            raise BadRequest("stream_options needs stream=true", param="stream_options")
        return bool(self.stream_options and self.stream_options.include_usage)

    def continuous_usage(self) -> bool:
        """vLLM's `continuous_usage_stats`: every chunk carries the usage so far (with
        `include_usage`, which also sends the final usage chunk)."""
        options = self.stream_options
        return self.include_usage() and bool(options and options.continuous_usage_stats)


class CompletionRequest(SamplingBody):
    """`POST /v1/completions`."""

    model_config = ConfigDict(json_schema_extra={"allOf": SAMPLING_RULES})

    prompt: (
        NonEmpty
        | Annotated[list[NonEmpty], Field(min_length=1)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1)]
    )
    max_tokens: MaxTokens | None = 16
    logprobs: Logprobs | None = None
    echo: bool | None = None
    suffix: None = None
    best_of: BestOf | None = None

    def output_limit(self) -> int | None:
        return self.max_tokens

    def num_logprobs(self) -> int | None:
        return self.logprobs

    def to_sampling_params(self) -> SamplingParams:
        """With `echo` and `logprobs`, the prompt's tokens get logprobs too (as the legacy
        completions API scores a text: lm-evaluation-harness's log-likelihood requests)."""
        params = super().to_sampling_params()
        if self.echo and self.logprobs is not None:
            wanted = max(self.logprobs, self.prompt_logprobs or 0)
            params = dataclasses.replace(params, prompt_logprobs=wanted)
        return params


class ChatRequest(ChatOptions, SamplingBody):
    """`POST /v1/chat/completions`."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                STREAM_OPTIONS_NEED_STREAM,
                TOP_LOGPROBS_NEED_LOGPROBS,
                ONE_GRAMMAR,
                TOOL_CHOICE_NEEDS_TOOLS,
                CONTINUE_OR_GENERATION_PROMPT,
            ]
        }
    )

    messages: Annotated[list[Message], Field(min_length=1)]
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    logprobs: bool | None = None
    top_logprobs: TopLogprobs | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None  # false: a reply makes one call at most

    def output_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens else self.max_tokens

    def num_logprobs(self) -> int | None:
        if self.top_logprobs is not None and not self.logprobs:
            raise BadRequest("top_logprobs needs logprobs=true", param="top_logprobs")
        return (self.top_logprobs or 0) if self.logprobs else None


class TokenizeCompletion(RequestBody):
    """`POST /tokenize` of a text."""

    prompt: str
    add_special_tokens: bool | None = None


class TokenizeChat(ChatOptions, RequestBody):
    """`POST /tokenize` of messages through the chat template."""

    model_config = ConfigDict(json_schema_extra={"allOf": [CONTINUE_OR_GENERATION_PROMPT]})

    messages: Annotated[list[Message], Field(min_length=1)]
    add_special_tokens: bool | None = None


class DetokenizeRequest(RequestBody):
    """`POST /detokenize`."""

    tokens: list[TokenId]


UNIONS = {
    "prompt": "a string, a list of strings, a list of token ids or a list of lists of token "
    "ids (none of them empty)",
    "content": "a string or a list of text and image_url parts",
    "stop": "a string or a list of strings",
    "tool_choice": "a string or an object",
    "truncate_prompt_tokens": "-1 or a whole number of at least 1",
}


def _response_format(error: Any) -> str | None:
    if error["type"] != "literal_error" or error["loc"][1:] != ("type",):
        return None
    return (
        f"response_format type {error['input']!r} is not supported; use text, json_object or "
        "json_schema"
    )


OVERRIDES: dict[str, Override] = {
    "suffix": lambda _: "suffix is not supported",
    "response_format": _response_format,
}


def parse(model: type[RequestBody], body: Any, limits: ServedLimits) -> Any:
    """`body` validated as `model` (any of the request models above)."""
    return validate(model, body, limits, bounds=SERVER_BOUNDS, unions=UNIONS, overrides=OVERRIDES)


@dataclasses.dataclass(frozen=True)
class GenerationRequest:
    """A parsed completion or chat request; `prompts` are text or token ids."""

    model: str | None
    prompts: list[str | list[int]]
    params: SamplingParams
    stream: bool
    include_usage: bool
    continuous_usage: bool = False
    echo: bool = False
    prompt_logprobs: int | None = None  # as asked: the response carries `prompt_logprobs`
    priority: int = 0
    cache_salt: str | None = None
    truncate_prompt_tokens: int | None = None  # -1: to max_model_len
    messages: list[dict[str, Any]] | None = None
    image_urls: list[str] = dataclasses.field(default_factory=list)  # the messages', in order
    template: TemplateOptions = dataclasses.field(default_factory=TemplateOptions)
    tools: ToolUse | None = None
    # The field that asked for the output's grammar, which a bad grammar's 400 names.
    grammar_field: str = "structured_outputs"


def parse_completion(body: Any, *, limits: ServedLimits) -> GenerationRequest:
    """`POST /v1/completions`."""
    request: CompletionRequest = parse(CompletionRequest, body, limits)
    prompt = request.prompt
    single = isinstance(prompt, str) or isinstance(prompt[0], int)
    prompts: list[Any] = [prompt] if single else list(prompt)
    return GenerationRequest(
        model=request.model,
        prompts=prompts,
        params=request.to_sampling_params(),
        stream=bool(request.stream),
        include_usage=request.include_usage(),
        continuous_usage=request.continuous_usage(),
        echo=bool(request.echo),
        prompt_logprobs=request.prompt_logprobs,
        priority=request.priority or 0,
        cache_salt=request.cache_salt,
        truncate_prompt_tokens=request.truncate_prompt_tokens,
        grammar_field=request.grammar_field(),
    )


def parse_chat(body: Any, *, limits: ServedLimits) -> GenerationRequest:
    """`POST /v1/chat/completions`."""
    request: ChatRequest = parse(ChatRequest, body, limits)
    return GenerationRequest(
        model=request.model,
        prompts=[],
        params=request.to_sampling_params(),
        stream=bool(request.stream),
        include_usage=request.include_usage(),
        continuous_usage=request.continuous_usage(),
        prompt_logprobs=request.prompt_logprobs,
        priority=request.priority or 0,
        cache_salt=request.cache_salt,
        truncate_prompt_tokens=request.truncate_prompt_tokens,
        messages=[m.for_template() for m in request.messages],
        image_urls=[url for m in request.messages for url in m.image_urls],
        template=request.template_options(),
        tools=tool_use(
            request.tools,
            request.tool_choice,
            parser=limits.tool_calls,
            parallel=request.parallel_tool_calls is not False,
        ),
        grammar_field=request.grammar_field(),
    )


def expand(params: SamplingParams) -> list[SamplingParams]:
    """`n` samples become `n` sequences (as `LLM` does): `SamplingParams.samples`."""
    return params.samples()
