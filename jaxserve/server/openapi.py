"""The OpenAPI 3.1 document of the server, written by hand next to the routes it describes."""

from __future__ import annotations

from typing import Any

import jaxserve

Schema = dict[str, Any]

NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
TOKENS: Schema = {"type": "array", "items": INTEGER}
STOP: Schema = {"oneOf": [STRING, {"type": "array", "items": STRING}, {"type": "null"}]}

SAMPLING: dict[str, Schema] = {
    "model": STRING,
    "max_tokens": INTEGER,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "n": INTEGER,
    "stream": BOOLEAN,
    "stream_options": {"type": "object", "properties": {"include_usage": BOOLEAN}},
    "stop": STOP,
    "seed": INTEGER,
    "presence_penalty": NUMBER,
    "frequency_penalty": NUMBER,
    "logit_bias": {"type": "object", "additionalProperties": NUMBER},
    "top_k": INTEGER,
    "min_p": NUMBER,
    "repetition_penalty": NUMBER,
    "min_tokens": INTEGER,
    "ignore_eos": BOOLEAN,
    "stop_token_ids": TOKENS,
    "skip_special_tokens": BOOLEAN,
    "include_stop_str_in_output": BOOLEAN,
}
COMPLETION_REQUEST: Schema = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        **SAMPLING,
        "prompt": {
            "oneOf": [
                STRING,
                {"type": "array", "items": STRING},
                TOKENS,
                {"type": "array", "items": TOKENS},
            ]
        },
        "logprobs": {**INTEGER, "minimum": 0, "maximum": 20},
        "echo": BOOLEAN,
    },
}
MESSAGE: Schema = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": STRING,
        "content": {
            "oneOf": [
                STRING,
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"type": {"const": "text"}, "text": STRING},
                    },
                },
            ]
        },
    },
}
CHAT_REQUEST: Schema = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        **SAMPLING,
        "messages": {"type": "array", "items": MESSAGE, "minItems": 1},
        "max_completion_tokens": INTEGER,
        "logprobs": BOOLEAN,
        "top_logprobs": {**INTEGER, "minimum": 0, "maximum": 20},
        "add_generation_prompt": BOOLEAN,
    },
}
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
        ok["content"]["text/event-stream"] = {"schema": STRING}
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, **_json(request)},
            "responses": {"200": {"description": "OK", **ok}, **ERRORS},
        }
    }


def openapi_document(model_name: str) -> Schema:
    """The document served at `/openapi.json`."""
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    paths = {
        "/health": _get("200 while the engine runs, 503 once it has failed", {"type": "object"}),
        "/version": _get("the jaxserve version", {"type": "object"}),
        "/metrics": _get("Prometheus metrics (jaxserve:*)", STRING, "text/plain"),
        "/openapi.json": _get("this document", {"type": "object"}),
        "/v1/models": _get("the served model", {"type": "object"}),
        "/v1/completions": _post(
            "text completion", COMPLETION_REQUEST, COMPLETION_RESPONSE, streams=True
        ),
        "/v1/chat/completions": _post(
            "chat completion (the tokenizer's chat template)",
            CHAT_REQUEST,
            COMPLETION_RESPONSE,
            streams=True,
        ),
        "/tokenize": _post(
            "text or messages to token ids",
            {
                "type": "object",
                "properties": {
                    "model": STRING,
                    "prompt": STRING,
                    "messages": {"type": "array", "items": MESSAGE},
                    "add_special_tokens": BOOLEAN,
                    "add_generation_prompt": BOOLEAN,
                },
            },
            {"type": "object", "properties": {"count": INTEGER, "tokens": TOKENS}},
        ),
        "/detokenize": _post(
            "token ids to text",
            {"type": "object", "required": ["tokens"], "properties": {"tokens": TOKENS}},
            {"type": "object", "properties": {"prompt": STRING}},
        ),
    }
    for path, item in paths.items():
        if path.startswith("/v1/"):
            for operation in item.values():
                operation["security"] = bearer
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jaxserve OpenAI-compatible API",
            "version": jaxserve.__version__,
            "description": f"Serves {model_name!r}.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
