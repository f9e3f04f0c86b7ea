"""Structured outputs in the engine: grammars compiled and cached, token masks on device,
requests with and without a grammar in one batch."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

from jaxserve import LLM, SamplingParams, StructuredOutputsParams
from jaxserve.engine.structured import GrammarCompiler, GrammarError, TokenMasks, allowed_mask
from tests.jaxserve.json_schemas import json_schemas
from tests.tiny_models import VOCAB

pytestmark = pytest.mark.cpu

PROMPT = "user: give json\nassistant:"


def bits(row: np.ndarray) -> list[int]:
    return list(np.nonzero(((row[:, None] >> np.arange(32)) & 1).reshape(-1))[0])


def test_allowed_mask_sets_one_bit_per_token():
    assert bits(allowed_mask([0, 31, 32, 319], VOCAB)) == [0, 31, 32, 319]
    assert allowed_mask([5], VOCAB).shape == (VOCAB // 32,)


@pytest.fixture
def llm(grammar_llm) -> LLM:
    return grammar_llm


@pytest.fixture
def compiler(llm) -> GrammarCompiler:
    return llm.engine.grammars


def test_a_grammar_compiles_once(compiler):
    spec = StructuredOutputsParams(
        json={"type": "object", "properties": {"a": {"type": "integer"}}}
    )
    again = StructuredOutputsParams(json=json.dumps(spec.json))  # the same schema as text
    assert compiler.compile(spec) is compiler.compile(again)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (StructuredOutputsParams(json={"type": "objekt"}), "invalid JSON schema: .*objekt"),
        (StructuredOutputsParams(regex="[a-"), "(?s)invalid regex: .*unclosed"),
        (StructuredOutputsParams(grammar="start: missing_rule"), "invalid grammar: "),
    ],
)
def test_a_bad_grammar_is_an_error_naming_it(compiler, spec, message):
    with pytest.raises(GrammarError, match=message):
        compiler.compile(spec)


def test_params_refuse_two_grammars_or_none():
    with pytest.raises(ValueError, match=r"exactly one of .* got \['regex', 'choice'\]"):
        StructuredOutputsParams(regex="a", choice=["b"])
    with pytest.raises(ValueError, match="got none"):
        StructuredOutputsParams()
    with pytest.raises(ValueError, match="not valid JSON"):
        StructuredOutputsParams(json="{")
    with pytest.raises(ValueError, match="allowed_token_ids"):
        SamplingParams(allowed_token_ids=[])


def test_masks_intersect_a_grammar_with_allowed_tokens(compiler):
    grammar = compiler.compile(StructuredOutputsParams(choice=["ab", "b"]))
    masks = TokenMasks(VOCAB)
    fixed = allowed_mask(range(VOCAB // 2), VOCAB)
    out = masks.fill(3, [(grammar.matcher(), 0), (grammar.matcher(), 1)], [(fixed, 1), (fixed, 2)])
    grammar_tokens = bits(out[0])
    assert 0 < len(grammar_tokens) < VOCAB
    assert bits(out[1]) == [t for t in grammar_tokens if t < VOCAB // 2]
    assert bits(out[2]) == list(range(VOCAB // 2))


def constrained(spec: StructuredOutputsParams, **options) -> SamplingParams:
    return SamplingParams(max_tokens=240, structured_outputs=spec, **options)


def test_every_generated_schema_is_followed(llm):
    schemas = json_schemas(30)
    params = [
        constrained(StructuredOutputsParams(json=s), temperature=t, seed=i)
        for i, s in enumerate(schemas)
        for t in (0.0, 1.0)
    ]
    outputs = llm.generate([PROMPT] * len(params), params, use_tqdm=False)
    for i, output in enumerate(outputs):
        completion = output.outputs[0]
        assert completion.finish_reason == "stop", completion.text
        jsonschema.validate(json.loads(completion.text), schemas[i // 2])


def test_regex_choice_grammar_and_json_object(llm):
    specs = [
        StructuredOutputsParams(regex=r"[a-z]{3}-[0-9]{2}"),
        StructuredOutputsParams(choice=["left", "right", "up"]),
        StructuredOutputsParams(grammar='start: "yes" | "no" " " NUMBER\nNUMBER: /[0-9]{1,3}/'),
        StructuredOutputsParams(grammar='root ::= "x" [0-9] [0-9]?'),  # GBNF
        StructuredOutputsParams(json_object=True),
    ]
    outputs = llm.generate(
        [PROMPT] * len(specs), [constrained(s, temperature=1.0, seed=3) for s in specs]
    )
    texts = [o.outputs[0].text for o in outputs]
    assert re.fullmatch(r"[a-z]{3}-[0-9]{2}", texts[0]), texts[0]
    assert texts[1] in {"left", "right", "up"}
    assert re.fullmatch(r"yes|no [0-9]{1,3}", texts[2]), texts[2]
    assert re.fullmatch(r"x[0-9][0-9]?", texts[3]), texts[3]
    assert isinstance(json.loads(texts[4]), dict)
    assert all(o.outputs[0].finish_reason == "stop" for o in outputs)


def test_unconstrained_requests_draw_the_same_tokens_beside_constrained_ones(llm):
    plain = [SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)] * 3
    prompts = ["the quick brown fox", "hello world", "paged attention"]
    alone = llm.generate(prompts, plain, use_tqdm=False)
    schema = json_schemas(3, seed=4)[0]
    mixed = llm.generate(
        [prompts[0], PROMPT, prompts[1], PROMPT, prompts[2]],
        [
            plain[0],
            constrained(StructuredOutputsParams(json=schema), temperature=0),
            plain[1],
            constrained(StructuredOutputsParams(regex="[0-9]{30}"), temperature=1.0, seed=1),
            plain[2],
        ],
        use_tqdm=False,
    )
    for single, shared in zip(alone, mixed[::2], strict=True):
        assert single.outputs[0].token_ids == shared.outputs[0].token_ids


def test_allowed_token_ids_bar_every_other_token(llm):
    allowed = [40, 41, 300]
    outputs = llm.generate(
        [PROMPT] * 2,
        [
            SamplingParams(temperature=1.0, seed=2, max_tokens=30, allowed_token_ids=allowed),
            SamplingParams(temperature=0, max_tokens=30, allowed_token_ids=allowed),
        ],
        use_tqdm=False,
    )
    for output in outputs:
        assert set(output.outputs[0].token_ids) <= set(allowed)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        llm.generate([PROMPT], SamplingParams(allowed_token_ids=[VOCAB]), use_tqdm=False)
