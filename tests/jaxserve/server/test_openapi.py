"""`/openapi.json` built from the request models, per server."""

from __future__ import annotations

import jsonschema
import pytest

from jaxserve.server.openapi import openapi_document
from jaxserve.server.protocol import parse_completion
from jaxserve.server.served import MARK, ServedLimits

LIMITS = ServedLimits("tiny", vocab_size=320, max_model_len=64)


def request_schema(document: dict, path: str) -> dict:
    """The request body's schema of `path`, with the components to resolve its `$ref`s."""
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {**body["schema"], "components": document["components"]}


def test_security_only_when_the_server_has_a_key():
    secured = openapi_document(LIMITS, secured=True)
    open_ = openapi_document(LIMITS, secured=False)
    models = secured["paths"]["/v1/models"]["get"]
    assert models["security"] == [{"bearer": []}] and "401" in models["responses"]
    assert "security" not in open_["paths"]["/v1/models"]["get"]
    assert "securitySchemes" not in open_["components"]
    assert "security" not in secured["paths"]["/tokenize"]["post"], "only /v1/* needs the key"


def test_the_schema_holds_the_served_bounds():
    document = openapi_document(LIMITS, secured=False)
    assert MARK not in str(document)
    completion = request_schema(document, "/v1/completions")
    validator = jsonschema.Draft202012Validator(completion)
    ok = {"prompt": "hi", "max_tokens": 64, "logit_bias": {"319": 1}, "stop_token_ids": [0]}
    assert validator.is_valid(ok)
    parse_completion(ok, limits=LIMITS)  # and the server takes it
    for bad in (
        {"prompt": "hi", "max_tokens": 65},
        {"prompt": "hi", "logit_bias": {"320": 1}},
        {"prompt": "hi", "stop_token_ids": [320]},
        {"prompt": [1] * 64},
        {"prompt": "hi", "prompt_logprobs": 21},
        {"prompt": "hi", "stream_options": {"include_usage": True}},
        {"prompt": "hi", "model": "other"},
        {"prompt": "hi", "max_token": 3},
    ):
        assert not validator.is_valid(bad), bad


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, False),
        ({"prompt": "hi"}, True),
        ({"prompt": ""}, True),
        ({"messages": [{"role": "user", "content": "hi"}]}, True),
        ({"messages": []}, False),
        ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, False),
    ],
)
def test_tokenize_takes_a_prompt_or_messages(body, valid):
    document = openapi_document(LIMITS, secured=False)
    validator = jsonschema.Draft202012Validator(request_schema(document, "/tokenize"))
    assert validator.is_valid(body) == valid
