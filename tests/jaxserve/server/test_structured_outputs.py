"""Structured outputs through the openai SDK: `response_format` with 30 generated JSON schemas
and with Pydantic models (`parse()`, `stream()`), vLLM's `structured_outputs` regex and choice,
and the 400 of a grammar that cannot compile."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import jsonschema
import openai
import pydantic
import pytest

from tests.jaxserve.json_schemas import json_schemas
from tests.jaxserve.server.conftest import MODEL_NAME, start_server

pytestmark = pytest.mark.cpu

MESSAGES = [{"role": "user", "content": "Reply in JSON."}]


@pytest.fixture(scope="module")
def live(grammar_llm):
    server = start_server(grammar_llm)
    yield server
    server.stop()


def json_schema_format(schema: dict, name: str) -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def streamed_text(client: openai.OpenAI, **kwargs) -> tuple[str, str | None]:
    text, finish = "", None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    return text, finish


def test_thirty_schemas_are_followed_streaming_and_not(live):
    client = live.client()
    schemas = json_schemas(30)

    def one(case: tuple[int, dict, bool]) -> tuple[str, str | None]:
        i, schema, stream = case
        kwargs = dict(
            model=MODEL_NAME,
            messages=MESSAGES,
            max_tokens=240,
            seed=i,
            response_format=json_schema_format(schema, f"schema_{i}"),
        )
        if stream:
            return streamed_text(client, **kwargs)
        choice = client.chat.completions.parse(**kwargs).choices[0]
        return choice.message.content, choice.finish_reason

    cases = [(i, s, stream) for i, s in enumerate(schemas) for stream in (False, True)]
    with ThreadPoolExecutor(8) as pool:  # several in one batch, as clients send them
        results = list(pool.map(one, cases))
    for (i, schema, stream), (text, finish) in zip(cases, results, strict=True):
        assert finish == "stop", (i, stream, text)
        jsonschema.validate(json.loads(text), schema)
    live.wait_idle()


class Pet(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=8)
    kind: Literal["cat", "dog", "fish"]
    age: int = pydantic.Field(ge=0, le=30)


class Household(pydantic.BaseModel):
    city: str = pydantic.Field(pattern=r"^[A-Z][a-z]{2,8}$")
    pets: list[Pet] = pydantic.Field(max_length=2)
    owner: Pet | None


def test_the_sdk_parses_pydantic_models_streaming_and_not(live):
    client = live.client()
    for model in (Pet, Household):
        parsed = client.chat.completions.parse(
            model=MODEL_NAME, messages=MESSAGES, response_format=model, max_tokens=240, seed=1
        )
        assert isinstance(parsed.choices[0].message.parsed, model)
        with client.chat.completions.stream(
            model=MODEL_NAME, messages=MESSAGES, response_format=model, max_tokens=240, seed=2
        ) as stream:
            final = stream.get_final_completion()
        assert isinstance(final.choices[0].message.parsed, model)
    live.wait_idle()


def test_regex_and_choice_match_on_both_routes(live):
    client = live.client()
    regex = r"[a-z]{3}-[0-9]{2}"
    for i in range(4):
        chat = client.chat.completions.create(
            model=MODEL_NAME,
            messages=MESSAGES,
            seed=i,
            extra_body={"structured_outputs": {"regex": regex}},
        )
        assert re.fullmatch(regex, chat.choices[0].message.content)
        text = client.completions.create(
            model=MODEL_NAME,
            prompt="Pick one:",
            seed=i,
            extra_body={"structured_outputs": {"choice": ["left", "right", "straight on"]}},
        )
        assert text.choices[0].text in {"left", "right", "straight on"}
    streamed, finish = streamed_text(
        client,
        model=MODEL_NAME,
        messages=MESSAGES,
        extra_body={"structured_outputs": {"regex": regex}},
    )
    assert re.fullmatch(regex, streamed) and finish == "stop"
    live.wait_idle()


@pytest.mark.parametrize(
    ("extra", "param", "message"),
    [
        (
            {"response_format": json_schema_format({"type": "objekt"}, "bad")},
            "response_format",
            "invalid JSON schema: ",
        ),
        (
            {"response_format": json_schema_format({"type": "string", "pattern": "(("}, "bad")},
            "response_format",
            "invalid JSON schema: ",
        ),
        ({"structured_outputs": {"regex": "[a-"}}, "structured_outputs", "invalid regex: "),
        ({"structured_outputs": {"grammar": "start: nothing"}}, "structured_outputs", "grammar"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema", "needs"),
        (
            {"response_format": {"type": "json_object"}, "structured_outputs": {"regex": "a"}},
            "structured_outputs",
            "not both",
        ),
    ],
)
def test_a_grammar_that_cannot_compile_is_a_400(live, extra, param, message):
    client = live.client()
    with pytest.raises(openai.BadRequestError, match=message) as raised:
        client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, extra_body=extra)
    assert raised.value.body["param"] == param
    live.wait_idle()
