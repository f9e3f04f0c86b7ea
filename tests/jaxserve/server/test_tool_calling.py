"""Tool calling through the openai SDK, for each tool-call parser: a call forced by
tool_choice ("required" or a named function), the tool's result sent back, and a final answer;
streamed and not. The tiny model writes whatever the grammar allows, so every call parses."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from tests.jaxserve.server.conftest import MODEL_NAME, start_server

pytestmark = pytest.mark.cpu

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 6},
        "unit": {"enum": ["c", "f"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "weather", "parameters": WEATHER},
    },
    {"type": "function", "function": {"name": "get_time"}},  # no arguments
]
# Shows the model the tools' names, each call of a reply and each tool result: short enough
# for the tiny model's 256-token context.
TEMPLATE = (
    "{% if tools %}<s>tools: {% for t in tools %}{{ t.function.name }} {% endfor %}\n{% endif %}"
    "{% for m in messages %}<s>{{ m.role }}: {{ m.content }}"
    "{% for c in m.tool_calls or [] %}{{ c.function.name }}{{ c.function.arguments | tojson }}"
    "{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)
QUESTION = [{"role": "user", "content": "weather in Oslo?"}]


@pytest.fixture(scope="module", params=["hermes", "llama3_json", "mistral"])
def live(request, grammar_llm):
    server = start_server(grammar_llm, tool_call_parser=request.param, chat_template=TEMPLATE)
    yield server
    server.stop()


def check_calls(calls: list[dict], named: str | None) -> None:
    assert calls, "a forced choice must call a tool"
    for call in calls:
        assert call["type"] == "function"
        arguments = json.loads(call["function"]["arguments"])
        if call["function"]["name"] == "get_weather":
            jsonschema.validate(arguments, WEATHER)
        else:
            assert call["function"]["name"] == "get_time" and arguments == {}
    if named is not None:
        assert [c["function"]["name"] for c in calls] == [named]


def streamed(client: openai.OpenAI, **kwargs) -> tuple[str, list[dict], str | None]:
    """The content, the tool calls assembled from their deltas, and the finish reason."""
    content, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for choice in chunk.choices:
            content += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(
                    delta.index, {"type": "function", "function": {"name": "", "arguments": ""}}
                )
                if delta.id:
                    assert "id" not in call, "a call's id comes once, in its first delta"
                    call["id"] = delta.id
                    call["function"]["name"] = delta.function.name
                call["function"]["arguments"] += delta.function.arguments or ""
    return content, [calls[i] for i in sorted(calls)], finish


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("choice", ["required", "get_weather", "get_time"])
def test_a_forced_call_round_trip(live, choice, stream):
    client = live.client()
    named = None if choice == "required" else choice
    tool_choice = "required" if named is None else {"type": "function", "function": {"name": named}}
    # One call: a random model that may write another after each writes calls to the end.
    ask = dict(model=MODEL_NAME, tools=TOOLS, max_tokens=120, seed=7, parallel_tool_calls=False)
    if stream:
        content, calls, finish = streamed(client, messages=QUESTION, tool_choice=tool_choice, **ask)
    else:
        reply = client.chat.completions.create(messages=QUESTION, tool_choice=tool_choice, **ask)
        message = reply.choices[0].message
        content, finish = message.content, reply.choices[0].finish_reason
        calls = [c.model_dump() for c in message.tool_calls or []]
    assert finish == "tool_calls" and not content
    check_calls(calls, named)
    results = [
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 C"} for call in calls
    ]
    conversation = [
        *QUESTION,
        {"role": "assistant", "content": None, "tool_calls": calls},
        *results,
    ]
    final = client.chat.completions.create(
        messages=conversation, tool_choice="none", **{**ask, "max_tokens": 8}
    )
    answer = final.choices[0]
    assert answer.message.tool_calls is None and answer.finish_reason in ("stop", "length")
    assert answer.message.content
    live.wait_idle()


def test_the_template_sees_the_tools_and_the_calls(live):
    with live.http() as http:
        tokens = http.post(
            "/tokenize",
            json={"model": MODEL_NAME, "messages": QUESTION},
        ).json()["tokens"]
    plain = live.llm.tokenizer.decode(tokens)
    assert "tools:" not in plain
    reply = live.client().chat.completions.create(
        model=MODEL_NAME, messages=QUESTION, tools=TOOLS, tool_choice="required", max_tokens=120
    )
    assert reply.usage.prompt_tokens > len(tokens)  # the names of the tools went in


def test_tool_choice_errors_name_the_field(live):
    client = live.client()
    missing = {"type": "function", "function": {"name": "nowhere"}}
    with pytest.raises(openai.BadRequestError, match="not among the tools") as raised:
        client.chat.completions.create(
            model=MODEL_NAME, messages=QUESTION, tools=TOOLS, tool_choice=missing
        )
    assert raised.value.body["param"] == "tool_choice"
    with pytest.raises(openai.BadRequestError, match="cannot be given with response_format"):
        client.chat.completions.create(
            model=MODEL_NAME,
            messages=QUESTION,
            tools=TOOLS,
            tool_choice="required",
            response_format={"type": "json_object"},
        )
    live.wait_idle()
