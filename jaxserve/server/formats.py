"""Request fields that constrain the output: `response_format`, `structured_outputs`, tools.

OpenAI's `response_format` (`text`, `json_object`, `json_schema`) and vLLM's
`structured_outputs` extra (`json`, `json_object`, `regex`, `choice`, `grammar`) both become
one `StructuredOutputsParams`. `tools` and `tool_choice` become a `ToolUse`: which functions
the template shows the model, and whether the reply may (`auto`), must (`required`) or must
call one named function; the serving layer forces the last two with a grammar.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from jaxserve.sampling_params import GRAMMAR_KINDS, StructuredOutputsParams
from jaxserve.server.errors import BadRequest
from jaxserve.server.served import Served
from jaxserve.server.validation import Strict

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
FunctionName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class JsonSchemaFormat(Strict):
    name: FunctionName = "response"
    description: str | None = None
    schema_: dict[str, Any] | bool | None = Field(default=None, alias="schema")
    strict: bool | None = None  # every schema is enforced whole, strict or not


class ResponseFormat(Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    def structured(self) -> StructuredOutputsParams | None:
        if self.type == "text":
            return None
        if self.type == "json_object":
            return StructuredOutputsParams(json_object=True)
        if self.json_schema is None or self.json_schema.schema_ is None:
            raise BadRequest(
                "response_format of type json_schema needs json_schema.schema",
                param="response_format.json_schema",
            )
        return StructuredOutputsParams(json=self.json_schema.schema_)


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"enum": [None, False]}}}}


class StructuredOutputsBody(Strict):
    """vLLM's `structured_outputs`: exactly one of its fields."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [_given(k) for k in GRAMMAR_KINDS]}  # type: ignore[dict-item]
    )

    json_: dict[str, Any] | bool | NonEmpty | None = Field(default=None, alias="json")
    json_object: bool | None = None
    regex: NonEmpty | None = None
    choice: Annotated[list[NonEmpty], Field(min_length=1)] | None = None
    grammar: NonEmpty | None = None  # Lark, or GBNF as llama.cpp writes it

    def structured(self) -> StructuredOutputsParams:
        try:
            return StructuredOutputsParams(
                json=self.json_,
                json_object=bool(self.json_object),
                regex=self.regex,
                choice=self.choice,
                grammar=self.grammar,
            )
        except ValueError as e:
            raise BadRequest(str(e), param="structured_outputs") from None


# Rules across fields, in JSON Schema (checked in code too, where each names its field).
TOOL_CHOICE_NEEDS_TOOLS: dict[str, Any] = {
    "if": {
        "properties": {"tool_choice": {"not": {"enum": ["none", None]}}},
        "required": ["tool_choice"],
    },
    "then": {"properties": {"tools": {"type": "array", "minItems": 1}}, "required": ["tools"]},
}
ONE_GRAMMAR: dict[str, Any] = {
    "if": {
        "properties": {
            "response_format": {
                "type": "object",
                "properties": {"type": {"enum": ["json_object", "json_schema"]}},
                "required": ["type"],
            },
            "structured_outputs": {"type": "object"},
        },
        "required": ["response_format", "structured_outputs"],
    },
    "then": False,
}


def structured_outputs(
    response_format: ResponseFormat | None, body: StructuredOutputsBody | None
) -> StructuredOutputsParams | None:
    """The request's one grammar, if it asks for one (a 400 if it asks for two)."""
    from_format = None if response_format is None else response_format.structured()
    if from_format is not None and body is not None:
        raise BadRequest(
            "give response_format or structured_outputs, not both", param="structured_outputs"
        )
    return body.structured() if body is not None else from_format


class FunctionDefinition(Strict):
    name: FunctionName
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON schema; none: no arguments
    strict: bool | None = None


class Tool(Strict):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionChoice(Strict):
    name: FunctionName


class NamedToolChoice(Strict):
    type: Literal["function"]
    function: FunctionChoice


ToolChoice = Annotated[Literal["none", "auto", "required"] | NamedToolChoice, Served("tool_choice")]


@dataclasses.dataclass(frozen=True)
class ToolUse:
    """The tools a chat request offers, as the chat template takes them, and its choice:
    "none", "auto", "required", or the name of the one function the reply must call."""

    tools: list[dict[str, Any]]
    choice: str
    named: bool = False
    # A reply may make several calls; else one (a forced choice's grammar allows one, and an
    # "auto" reply's later calls are dropped).
    parallel: bool = True

    @property
    def calls_possible(self) -> bool:
        return self.choice != "none"

    @property
    def forced(self) -> bool:
        return self.choice == "required" or self.named


def tool_use(
    tools: list[Tool] | None, choice: ToolChoice | None, *, parser: bool, parallel: bool = True
) -> ToolUse | None:
    """The request's tool use, checked; None where it offers no tools. Without a choice it is
    "auto" where a tool-call `parser` is configured, else "none"."""
    if not tools:
        if choice is not None and choice != "none":
            raise BadRequest("tool_choice needs tools", param="tool_choice")
        return None
    names = [tool.function.name for tool in tools]
    if len(set(names)) != len(names):
        raise BadRequest("tools must have distinct function names", param="tools")
    listed = [tool.model_dump(exclude_none=True, by_alias=True) for tool in tools]
    if isinstance(choice, NamedToolChoice):
        name = choice.function.name
        if name not in names:
            raise BadRequest(
                f"tool_choice names the function {name!r}, which is not among the tools {names}",
                param="tool_choice",
            )
        return ToolUse(listed, name, named=True, parallel=False)
    return ToolUse(listed, choice or ("auto" if parser else "none"), parallel=parallel)
