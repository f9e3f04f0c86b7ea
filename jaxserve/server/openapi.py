"""The OpenAPI 3.1 document of one server: request bodies from the protocol's models.

The request schemas are the pydantic models' own (`protocol.py`), with the bounds of the served
model written in (`served.resolve_schema`), so what the document calls valid is what the server
accepts. Response schemas are written here, beside the routes that produce them.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

import jaxserve
from jaxserve.server.protocol import (
    ChatRequest,
    CompletionRequest,
    DetokenizeRequest,
    TokenizeChat,
    TokenizeCompletion,
)
from jaxserve.server.served import ServedLimits, resolve_schema

Schema = dict[str, Any]

NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
TOKENS: Schema = {"type": "array", "items": INTEGER}
# OpenAPI 3.1: the `schema` of an event stream describes one event (here `data:` lines only).
SSE_EVENT: Schema = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": STRING, "event": STRING, "id": STRING, "retry": INTEGER},
}
REQUEST_MODELS = (
    CompletionRequest,
    ChatRequest,
    TokenizeCompletion,
    TokenizeChat,
    DetokenizeRequest,
)
USAGE: Schema = {
    "type": "object",
    "properties": {"prompt_tokens": INTEGER, "completion_tokens": INTEGER, "total_tokens": INTEGER},
}
ERROR: Schema = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": STRING,
                "type": STRING,
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
COMPLETION_RESPONSE: Schema = {
    "type": "object",
    "properties": {
        "id": STRING,
        "object": {"enum": ["text_completion", "chat.completion", "chat.completion.chunk"]},
        "created": INTEGER,
        "model": STRING,
        "choices": {"type": "array", "items": {"type": "object"}},
        "usage": USAGE,
    },
}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {
    str(status): {"description": text, **_json({"$ref": "#/components/schemas/Error"})}
    for status, text in (
        (400, "bad parameters or a prompt too long"),
        (401, "missing or wrong API key"),
        (404, "unknown model"),
        (413, "request body too large"),
        (500, "the engine failed"),
        (503, "overloaded or shutting down"),
    )
}


def _get(summary: str, schema: Schema, media: str = "application/json") -> Schema:
    ok = {"description": "OK", "content": {media: {"schema": schema}}}
    return {"get": {"summary": summary, "responses": {"200": ok}}}


def _post(summary: str, request: Schema, response: Schema, *, streams: bool = False) -> Schema:
    ok = _json(response)
    if streams:  # stream=true answers Server-Sent Events: data: {chunk} ... data: [DONE]
        ok["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, **_json(request)},
            "responses": {"200": {"description": "OK", **ok}, **ERRORS},
        }
    }


def request_schemas() -> tuple[dict[str, Schema], Schema]:
    """Each request model's schema (a `$ref`) and the shared definitions they point into."""
    refs, definitions = models_json_schema(
        [(model, "validation") for model in REQUEST_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    names = {model.__name__: refs[(model, "validation")] for model in REQUEST_MODELS}
    return names, definitions.get("$defs", {})


def openapi_document(limits: ServedLimits, *, secured: bool) -> Schema:
    """The document served at `/openapi.json`; `secured`: `/v1/*` needs the Bearer key."""
    refs, definitions = request_schemas()
    tokenize = {"anyOf": [refs["TokenizeCompletion"], refs["TokenizeChat"]]}
    paths = {
        "/health": _get("200 while the engine runs, 503 once it has failed", {"type": "object"}),
        "/version": _get("the jaxserve version", {"type": "object"}),
        "/metrics": _get("Prometheus metrics (jaxserve:*)", STRING, "text/plain"),
        "/openapi.json": _get("this document", {"type": "object"}),
        "/v1/models": _get("the served model", {"type": "object"}),
        "/v1/completions": _post(
            "text completion", refs["CompletionRequest"], COMPLETION_RESPONSE, streams=True
        ),
        "/v1/chat/completions": _post(
            "chat completion (the tokenizer's chat template)",
            refs["ChatRequest"],
            COMPLETION_RESPONSE,
            streams=True,
        ),
        "/tokenize": _post(
            "text or messages to token ids",
            tokenize,
            {
                "type": "object",
                "properties": {"count": INTEGER, "max_model_len": INTEGER, "tokens": TOKENS},
            },
        ),
        "/detokenize": _post(
            "token ids to text",
            refs["DetokenizeRequest"],
            {"type": "object", "properties": {"prompt": STRING}},
        ),
    }
    components: Schema = {"schemas": {**definitions, "Error": ERROR}}
    if secured:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, item in paths.items():
            if path.startswith("/v1/"):
                for operation in item.values():
                    operation["security"] = [{"bearer": []}]
                    operation["responses"].setdefault("401", ERRORS["401"])
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "jaxserve OpenAI-compatible API",
            "version": jaxserve.__version__,
            "description": f"Serves {limits.model_name!r}.",
        },
        "paths": paths,
        "components": components,
    }
    return resolve_schema(document, limits)
