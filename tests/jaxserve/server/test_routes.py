"""Errors in OpenAI's shape, auth, headers and the non-generation routes of a live server."""

from __future__ import annotations

import openai
import pytest

from tests.jaxserve.server.conftest import MODEL_NAME

pytestmark = pytest.mark.cpu

CHAT = [{"role": "user", "content": "hello"}]


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_bad_parameters_are_400_naming_the_field(live):
    client = live.client()
    with pytest.raises(
        openai.BadRequestError, match=r"temperature: must be >= 0 \(0: greedy\), got -1"
    ):
        client.completions.create(model=MODEL_NAME, prompt="hi", temperature=-1)
    with pytest.raises(openai.BadRequestError, match="max_model_len is 64") as e:
        client.completions.create(model=MODEL_NAME, prompt=[5] * 80, stream=True)
    assert e.value.body["type"] == "invalid_request_error"
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError, match="max_model_len is 64") as e:
        client.chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": "hello " * 80}]
        )
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError, match=r"unknown field\(s\) \['max_token'\]"):
        client.completions.create(model=MODEL_NAME, prompt="hi", extra_body={"max_token": 3})
    with pytest.raises(openai.BadRequestError, match="top_logprobs needs logprobs=true"):
        client.chat.completions.create(model=MODEL_NAME, messages=CHAT, top_logprobs=2)
    with pytest.raises(
        openai.BadRequestError, match=r"logit_bias: keys must be token ids in \[0, 320\), got '999'"
    ):
        client.chat.completions.create(model=MODEL_NAME, messages=CHAT, logit_bias={"999": 1})
    with live.http() as http:
        response = http.post("/v1/chat/completions", content=b"{not json")
        assert response.status_code == 400 and "not valid JSON" in error_of(response)["message"]
        response = http.post("/v1/completions", json={"prompt": "hi", "n": "2"})
        assert response.status_code == 400 and error_of(response)["param"] == "n"
    live.wait_idle()


def test_auth_model_and_size_errors(live):
    with live.client(api_key="wrong") as client, pytest.raises(openai.AuthenticationError):
        client.models.list()
    with live.client() as client, pytest.raises(openai.NotFoundError, match="does not exist") as e:
        client.completions.create(model="gpt-4", prompt="hi")
    assert e.value.body["code"] == "model_not_found" and e.value.body["param"] == "model"
    with live.http() as http:
        response = http.post("/v1/completions", json={"prompt": "x" * 70_000})
        assert response.status_code == 413 and error_of(response)["code"] == "request_too_large"
        response = http.get("/v1/nothing")
        assert response.status_code == 404 and "no route" in error_of(response)["message"]
        response = http.get("/v1/completions")
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert error_of(response)["code"] == "method_not_allowed"
        response = http.post("/health")
        assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == {
            "GET",
            "HEAD",
        }
        anonymous = http.get("/health", headers={"Authorization": ""})
        assert anonymous.status_code == 200, "only /v1/* needs the key"


def test_models_version_health_and_request_id(live):
    models = live.client().models.list()
    assert [m.id for m in models.data] == [MODEL_NAME]
    with live.http() as http:
        assert http.get("/version").json()["version"]
        response = http.get("/health", headers={"X-Request-Id": "abc-123"})
        assert response.status_code == 200 and response.headers["x-request-id"] == "abc-123"
        assert len(http.get("/health").headers["x-request-id"]) == 32, "generated when absent"


def test_cors_preflight_and_headers(live):
    with live.http() as http:
        response = http.options(
            "/v1/chat/completions",
            headers={
                "Origin": "http://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://app.example"
        other = http.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_tokenize_and_detokenize(live):
    tokenizer = live.llm.tokenizer
    with live.http() as http:
        out = http.post("/tokenize", json={"prompt": "hello world"}).json()
        assert out["tokens"] == tokenizer.encode("hello world")
        assert out["count"] == len(out["tokens"])
        assert out["max_model_len"] == 64
        chat = http.post("/tokenize", json={"messages": CHAT}).json()
        text = tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
        assert chat["tokens"] == tokenizer.encode(text, add_special_tokens=False)
        back = http.post("/detokenize", json={"tokens": out["tokens"]}).json()
        assert back == {"prompt": "hello world"}
        bad = http.post("/detokenize", json={"tokens": [1, 10_000]})
        assert bad.status_code == 400 and "outside the vocabulary" in error_of(bad)["message"]
        for body, param in (
            ({"tokens": [1, "a"]}, "tokens"),
            ({"tokens": [1.5]}, "tokens"),
            ({}, "tokens"),
        ):
            bad = http.post("/detokenize", json=body)
            assert bad.status_code == 400 and error_of(bad)["param"] == param, body
        for body, message in (
            ({}, "prompt: required"),
            ({"prompt": "a", "messages": CHAT}, "unknown field(s) ['prompt']"),
            ({"messages": []}, "messages: must not be empty"),
        ):
            bad = http.post("/tokenize", json=body)
            assert bad.status_code == 400 and message in error_of(bad)["message"], body


def test_openapi_describes_every_route(live):
    with live.http() as http:
        document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    routes = {route.path for route in live.app.routes}
    assert routes == set(document["paths"])
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"] == [{"bearer": []}], "this server has an api_key"
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChatRequest"}
    schemas = document["components"]["schemas"]
    request = schemas["ChatRequest"]
    assert "messages" in request["properties"] and request["additionalProperties"] is False
    assert {"400", "401", "404", "413", "500", "503"} <= set(chat["responses"])
    # the served model's bounds are written in
    max_tokens = [s for s in request["properties"]["max_tokens"]["anyOf"] if "maximum" in s]
    assert max_tokens[0]["maximum"] == 64
    tokens = schemas["DetokenizeRequest"]["properties"]["tokens"]["items"]
    assert tokens["maximum"] == live.llm.config.vocab_size - 1
    assert "x-served-limit" not in str(document)


def test_metrics_exposition(live):
    live.client().completions.create(
        model=MODEL_NAME, prompt="hello", max_tokens=3, extra_body={"ignore_eos": True}
    )
    live.wait_idle()
    with live.http() as http:
        response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = response.text.splitlines()
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if not line.startswith("#")
    }
    label = f'{{model_name="{MODEL_NAME}"}}'
    for name in (
        "num_requests_running",
        "num_requests_waiting",
        "kv_cache_usage_perc",
        "prefix_cache_queries_total",
        "prefix_cache_hits_total",
        "prompt_tokens_total",
        "generation_tokens_total",
        "num_preemptions_total",
    ):
        assert f"jaxserve:{name}{label}" in samples, name
    assert samples[f"jaxserve:kv_cache_usage_perc{label}"] == 0
    assert samples[f"jaxserve:generation_tokens_total{label}"] >= 3
    assert samples[f"jaxserve:prompt_tokens_total{label}"] >= 1
    length = f'jaxserve:request_success_total{{model_name="{MODEL_NAME}",finished_reason="length"}}'
    assert samples[length] >= 1
    for histogram in (
        "time_to_first_token_seconds",
        "inter_token_latency_seconds",
        "e2e_request_latency_seconds",
        "request_queue_time_seconds",
    ):
        assert f"# TYPE jaxserve:{histogram} histogram" in lines
        count = samples[f"jaxserve:{histogram}_count{label}"]
        inf = f'jaxserve:{histogram}_bucket{{model_name="{MODEL_NAME}",le="+Inf"}}'
        assert count >= 1 and samples[inf] == count
