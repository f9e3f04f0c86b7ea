"""Tool-call parsers: recorded replies of each format, whole and streamed however they are split."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxserve.server.tool_grammars import forcing_grammar
from jaxserve.server.tool_parsers import TOOL_PARSERS, ToolCall, ToolCallStream, extract

HERMES, LLAMA3, MISTRAL = (TOOL_PARSERS[name] for name in ("hermes", "llama3_json", "mistral"))

# Replies as the models write them (special tokens kept, as the chat route decodes them).
QWEN_TWO_CALLS = (
    "I'll look up the weather in both cities for you.\n\n"
    "<tool_call>\n"
    '{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA", '
    '"unit": "fahrenheit"}}\n'
    "</tool_call>\n"
    "<tool_call>\n"
    '{"name": "get_current_weather", "arguments": {"location": "Tōkyō, 日本", "unit": "celsius"}}\n'
    "</tool_call>"
)
QWEN_NESTED = (
    "<tool_call>\n"
    '{"name": "run_query", "arguments": {"sql": "SELECT \\"a}\\" FROM t WHERE x = \'{\'", '
    '"options": {"limit": 10, "tags": ["α", {"deep": [1, 2.5e3, null, true]}]}}}\n'
    "</tool_call>"
)
QWEN_NO_CLOSING_TAG = '<tool_call>\n{"name": "get_time", "arguments": {}}\n'
LLAMA_BARE = (
    '{"name": "get_current_conditions", "parameters": {"location": "San Francisco, CA", '
    '"unit": "Fahrenheit"}}'
)
LLAMA_PYTHON_TAG = '<|python_tag|>{"name": "search", "parameters": {"query": "jax pallas"}}'
LLAMA_TWO_CALLS = (
    '{"name": "get_weather", "parameters": {"city": "Paris"}}; '
    '{"name": "get_weather", "parameters": {"city": "Zürich"}}'
)
LLAMA_TYPED = '{"type": "function", "name": "get_time", "parameters": {"timezone": "UTC"}}'
MISTRAL_LIST = (
    '[TOOL_CALLS] [{"name": "get_current_weather", "arguments": {"location": "Paris, France", '
    '"format": "celsius"}}, {"name": "get_current_weather", "arguments": '
    '{"location": "Lyon, France", "format": "celsius"}}]'
)
MISTRAL_NAMED = (
    '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}'
    '[TOOL_CALLS]convert_currency[ARGS]{"amount": 12.5, "from": "EUR", "to": "JPY"}'
)

RECORDED = [
    (HERMES, QWEN_TWO_CALLS),
    (HERMES, QWEN_NESTED),
    (HERMES, QWEN_NO_CLOSING_TAG),
    (LLAMA3, LLAMA_BARE),
    (LLAMA3, LLAMA_PYTHON_TAG),
    (LLAMA3, LLAMA_TWO_CALLS),
    (LLAMA3, LLAMA_TYPED),
    (MISTRAL, MISTRAL_LIST),
    (MISTRAL, MISTRAL_NAMED),
    (HERMES, '<tool_call>\n{"arguments": {"q": "x"}, "name": "search"}\n</tool_call>'),
    (LLAMA3, 'Searching.<|python_tag|>{"name": "search", "parameters": {"q": "a;b"}}'),
]
MALFORMED = [
    (HERMES, 'Sure.\n<tool_call>\n{"name": "f", "arguments": {"a": tru}}\n</tool_call>'),
    (HERMES, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par'),
    (HERMES, '<tool_call>\nget_weather(city="Paris")\n</tool_call>'),
    (HERMES, '<tool_call>\n{"name": "f", "arguments": "city=Paris"}\n</tool_call>'),
    (HERMES, '<tool_call>\n{"arguments": {"a": 1}}\n</tool_call>'),
    (LLAMA3, '{"answer": 42, "reason": "the question"}'),
    (LLAMA3, '<|python_tag|>brave_search.call(query="weather in Paris")'),
    (MISTRAL, '[TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}'),
    (MISTRAL, "[TOOL_CALLS]get weather[ARGS]{}"),
]
MODEL_DIR = Path(__file__).resolve().parents[3] / "models" / "default"
MARKERS = ("<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]")


def stream(fmt, deltas):
    """(content, calls as (id, name, arguments), events) of a reply streamed in `deltas`."""
    parser = ToolCallStream(fmt)
    events = [event for delta in deltas for event in parser.feed(delta)] + parser.finish()
    content, calls = "", {}
    for event in events:
        if isinstance(event, str):
            content += event
        elif "id" in event:
            assert event["type"] == "function" and event["function"]["arguments"] == ""
            assert event["index"] == len(calls)
            calls[event["index"]] = [event["id"], event["function"]["name"], ""]
        else:
            assert set(event) == {"index", "function"} and set(event["function"]) == {"arguments"}
            calls[event["index"]][2] += event["function"]["arguments"]
    return content, [tuple(call) for call in calls.values()], parser.calls


def assert_stream_agrees(fmt, text, deltas):
    content, calls = extract(fmt, text)
    streamed, sent, completed = stream(fmt, deltas)
    assert streamed == (content or "")
    assert [(c.name, c.arguments) for c in completed] == [(c.name, c.arguments) for c in calls]
    assert [(name, args) for _, name, args in sent[: len(calls)]] == [
        (c.name, c.arguments) for c in calls
    ]
    assert len(sent) - len(calls) in (0, 1)  # at most one call broke after it was begun
    for _, _, args in sent[len(calls) :]:
        assert args in streamed  # the broken call's text is content too


def test_qwen_text_then_two_calls():
    content, calls = extract(HERMES, QWEN_TWO_CALLS)
    assert content == "I'll look up the weather in both cities for you."
    assert [c.name for c in calls] == ["get_current_weather"] * 2
    assert json.loads(calls[1].arguments) == {"location": "Tōkyō, 日本", "unit": "celsius"}
    assert calls[0].arguments == '{"location": "San Francisco, CA", "unit": "fahrenheit"}'
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", c.id) for c in calls)
    assert calls[0].id != calls[1].id
    assert isinstance(calls[0], ToolCall)


def test_nested_arguments_keep_their_text():
    _, [call] = extract(HERMES, QWEN_NESTED)
    assert call.arguments == QWEN_NESTED.split('"arguments": ')[1].rsplit("}\n</tool_call>")[0]
    assert json.loads(call.arguments)["options"]["tags"][1] == {"deep": [1, 2500.0, None, True]}


def test_last_closing_tag_may_be_missing():
    assert extract(HERMES, QWEN_NO_CLOSING_TAG)[1][0].arguments == "{}"


@pytest.mark.parametrize(
    ("text", "names", "first_arguments"),
    [
        (
            LLAMA_BARE,
            ["get_current_conditions"],
            {"location": "San Francisco, CA", "unit": "Fahrenheit"},
        ),
        (LLAMA_PYTHON_TAG, ["search"], {"query": "jax pallas"}),
        (LLAMA_TWO_CALLS, ["get_weather", "get_weather"], {"city": "Paris"}),
        (LLAMA_TYPED, ["get_time"], {"timezone": "UTC"}),
    ],
)
def test_llama3_calls(text, names, first_arguments):
    content, calls = extract(LLAMA3, text)
    assert content is None
    assert [c.name for c in calls] == names
    assert json.loads(calls[0].arguments) == first_arguments


def test_llama3_json_after_text_is_content():
    text = 'Here is the call: {"name": "f", "parameters": {}}'
    assert extract(LLAMA3, text) == (text, [])


def test_llama3_call_without_parameters_has_empty_arguments():
    assert extract(LLAMA3, '{"name": "get_time"}')[1][0].arguments == "{}"


def test_mistral_list_and_named_forms():
    _, listed = extract(MISTRAL, MISTRAL_LIST)
    assert [json.loads(c.arguments)["location"] for c in listed] == [
        "Paris, France",
        "Lyon, France",
    ]
    content, named = extract(MISTRAL, MISTRAL_NAMED)
    assert content is None
    assert [(c.name, c.arguments) for c in named] == [
        ("get_weather", '{"city": "Paris"}'),
        ("convert_currency", '{"amount": 12.5, "from": "EUR", "to": "JPY"}'),
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", c.id) for c in listed + named)


@pytest.mark.parametrize(("fmt", "text"), MALFORMED)
def test_a_call_that_does_not_parse_is_content(fmt, text):
    content, calls = extract(fmt, text)
    assert calls == []
    assert content == text.strip()


def test_calls_before_a_broken_one_stand():
    broken = '<tool_call>\n{"name": "g", "arguments": {"x": }}\n</tool_call>'
    content, calls = extract(HERMES, QWEN_TWO_CALLS + "\n" + broken)
    assert len(calls) == 2
    # the text outside the calls, the whitespace between them included
    assert content == "I'll look up the weather in both cities for you.\n\n" + "\n" * 2 + broken


@pytest.mark.parametrize("fmt", TOOL_PARSERS.values(), ids=TOOL_PARSERS.keys())
def test_plain_replies(fmt):
    assert extract(fmt, "The answer is 4.\n") == ("The answer is 4.", [])
    assert extract(fmt, " \n\t ") == (None, [])
    assert extract(fmt, "") == (None, [])
    assert extract(fmt, "a <tool or [TOOL or <|python") == ("a <tool or [TOOL or <|python", [])


@pytest.mark.parametrize(("fmt", "text"), RECORDED + MALFORMED)
def test_every_one_character_split_agrees(fmt, text):
    assert_stream_agrees(fmt, text, list(text))
    assert_stream_agrees(fmt, text, [text])


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(RECORDED + MALFORMED), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_any_split_agrees(case, cuts):
    fmt, text = case
    bounds = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    assert_stream_agrees(fmt, text, [text[a:b] for a, b in itertools.pairwise(bounds)])


PIECES = ["<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]", "{", "}",
          "[", "]", '"name": "f", ', '"arguments": ', '"parameters": ', '"x"', ": ", ", ", ";",
          "\\", '"', " ", "\n", "f", "1", "é", "<tool", "[TOOL"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    fmt=st.sampled_from(list(TOOL_PARSERS.values())),
    pieces=st.lists(st.sampled_from(PIECES), max_size=30),
    seed=st.integers(0, 2**16),
)
def test_arbitrary_text_never_raises_and_agrees(fmt, pieces, seed):
    text = "".join(pieces)
    content, calls = extract(fmt, text)
    assert content is None or (content and content == content.strip())
    assert all(isinstance(json.loads(call.arguments), dict) for call in calls)
    cuts = sorted(random.Random(seed).sample(range(len(text) + 1), min(len(text) + 1, 5)))
    assert_stream_agrees(
        fmt, text, [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
    )


@pytest.mark.parametrize(("fmt", "text"), RECORDED)
def test_no_marker_fragment_reaches_content(fmt, text):
    parser = ToolCallStream(fmt)
    for delta in text:
        for event in parser.feed(delta):
            if isinstance(event, str):
                assert not any(marker[:2] in event for marker in MARKERS), event
    _, sent, completed = stream(fmt, list(text))
    assert sent and len(sent) == len(completed)  # every call it began, it completed


def test_arguments_stream_before_the_call_ends():
    parser = ToolCallStream(HERMES)
    head = QWEN_TWO_CALLS[: QWEN_TWO_CALLS.index("fahrenheit")]
    events = parser.feed(head)
    assert events[0] == "I'll look up the weather in both cities for you."
    assert events[1]["function"] == {"name": "get_current_weather", "arguments": ""}
    assert events[2] == {"index": 0, "function": {"arguments": head.split('"arguments": ')[1]}}
    assert parser.feed('fahrenheit"') == [{"index": 0, "function": {"arguments": 'fahrenheit"'}}]
    assert parser.calls == []


def test_stream_cut_inside_a_call_sends_its_text_as_content():
    text = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par'
    content, sent, completed = stream(HERMES, [text[:40], text[40:]])
    assert (content, completed) == (extract(HERMES, text)[0], [])
    assert content == text
    assert [(name, args) for _, name, args in sent] == [("get_weather", '{"city": "Par')]


def test_held_marker_start_is_released_when_it_is_not_one():
    parser = ToolCallStream(HERMES)
    assert parser.feed("a <tool") == ["a"]
    assert parser.feed("box> b") == [" <toolbox> b"]
    assert parser.finish() == []


def test_streamed_ids_follow_the_format():
    for fmt, text, pattern in (
        (MISTRAL, MISTRAL_NAMED, "[A-Za-z0-9]{9}"),
        (HERMES, QWEN_TWO_CALLS, "call_[0-9a-f]{24}"),
    ):
        ids = [call_id for call_id, _, _ in stream(fmt, [text])[1]]
        assert len(ids) == 2 and ids[0] != ids[1]
        assert all(re.fullmatch(pattern, call_id) for call_id in ids)


def test_order_of_keys_and_text_before_the_python_tag():
    _, [call] = extract(HERMES, RECORDED[-2][1])
    assert (call.name, call.arguments) == ("search", '{"q": "x"}')
    content, [call] = extract(LLAMA3, RECORDED[-1][1])
    assert (content, call.arguments) == ("Searching.", '{"q": "a;b"}')


# ---- forcing grammars ----

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time"}}
TOOLS = [WEATHER, CLOCK]
VALID = {
    "hermes": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n'
    '</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    "llama3_json": '{"name": "get_weather", "parameters": {"city": "Köln"}}; '
    '{"name": "get_time", "parameters": {}}',
    "mistral": '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, '
    '{"name": "get_time", "arguments": {}}]',
}


@pytest.fixture(scope="module")
def tokenizers():
    hf = pytest.importorskip("llguidance.hf")
    import transformers

    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
    return hf_tokenizer, hf.from_tokenizer(hf_tokenizer)


def matcher(tokenizers, grammar):
    import llguidance

    lark = llguidance.LLMatcher.grammar_from_lark(grammar)
    assert llguidance.LLMatcher.validate_grammar(lark, tokenizers[1]) == ""
    return llguidance.LLMatcher(tokenizers[1], lark)


def accepts(tokenizers, grammar, text):
    tokens = tokenizers[0].encode(text, add_special_tokens=False)
    forced = matcher(tokenizers, grammar)
    if forced.validate_tokens(tokens) < len(tokens):
        return False
    assert forced.consume_tokens(tokens)
    return forced.is_accepting()


@pytest.mark.parametrize("name", TOOL_PARSERS)
def test_required_grammar_accepts_calls_that_extract_reads(tokenizers, name):
    fmt, text = TOOL_PARSERS[name], VALID[name]
    grammar = forcing_grammar(fmt, TOOLS, None)
    assert accepts(tokenizers, grammar, text)
    assert [c.name for c in extract(fmt, text)[1]] == ["get_weather", "get_time"]
    wrong_name = text.replace("get_time", "get_date")
    wrong_type = text.replace('"Paris"', "3").replace('"Köln"', "3")
    extra_key = text.replace('{"name": "get_time", "arguments": {}}', "").replace("{}", '{"a": 1}')
    free_spacing = text.replace('{"city"', '{\n  "city"')
    for refused in (wrong_name, wrong_type, extra_key, free_spacing, text[: len(text) // 2]):
        assert not accepts(tokenizers, grammar, refused), refused


@pytest.mark.parametrize("name", TOOL_PARSERS)
def test_named_choice_grammar_allows_one_call_to_it(tokenizers, name):
    fmt = TOOL_PARSERS[name]
    grammar = forcing_grammar(fmt, TOOLS, "get_weather")
    one = forcing_text(fmt, "get_weather", '{"city": "Oslo"}')
    assert accepts(tokenizers, grammar, one)
    assert [(c.name, c.arguments) for c in extract(fmt, one)[1]] == [
        ("get_weather", '{"city": "Oslo"}')
    ]
    assert not accepts(tokenizers, grammar, forcing_text(fmt, "get_time", "{}"))
    assert not accepts(tokenizers, grammar, VALID[name])  # two calls


def forcing_text(fmt, name, arguments):
    layout = fmt.layout
    call = f'{layout.before_call}{{"name": "{name}", "{layout.arguments_key}": {arguments}}}'
    return layout.before_calls + call + layout.after_call + layout.after_calls


def test_grammar_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"get_date.*get_weather"):
        forcing_grammar(HERMES, TOOLS, "get_date")
    with pytest.raises(ValueError, match="at least one tool"):
        forcing_grammar(HERMES, [], None)
    with pytest.raises(ValueError, match="'type': 'function'"):
        forcing_grammar(HERMES, [{"type": "retrieval"}], None)
    with pytest.raises(ValueError, match="JSON schema"):
        forcing_grammar(
            HERMES, [{"type": "function", "function": {"name": "f", "parameters": 1}}], None
        )
