"""Incremental detokenization never emits a broken character; stop strings trim the text."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from jaxserve.engine.detokenizer import REPLACEMENT, IncrementalDetokenizer
from tests.tiny_models import write_tokenizer

TEXT = "héllo wörld 🙂 naïve café — done"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokenizer")
    write_tokenizer(path)
    return AutoTokenizer.from_pretrained(path)


def test_multibyte_characters_arrive_whole(tokenizer):
    ids = tokenizer.encode(TEXT, add_special_tokens=False)
    assert len(ids) > len(TEXT.encode()) // 2, "the test needs characters split over tokens"
    detok = IncrementalDetokenizer(tokenizer, [1, 5])
    deltas = [detok.add_token(t) for t in ids]
    assert all(REPLACEMENT not in d for d in deltas)
    assert any(d == "" for d in deltas), "some token ended mid-character"
    assert "".join(deltas) + detok.flush() == TEXT == detok.text


def test_flush_emits_an_incomplete_tail(tokenizer):
    ids = tokenizer.encode("ok 🙂", add_special_tokens=False)
    detok = IncrementalDetokenizer(tokenizer, [1])
    for t in ids[:-1]:  # stop one byte short of the emoji
        detok.add_token(t)
    assert detok.text == "ok "
    assert detok.flush().endswith(REPLACEMENT)
    assert detok.text == tokenizer.decode(ids[:-1])


def test_special_tokens_are_skipped_or_kept(tokenizer):
    ids = [*tokenizer.encode("hello", add_special_tokens=False), tokenizer.eos_token_id]
    skip = IncrementalDetokenizer(tokenizer, [1])
    keep = IncrementalDetokenizer(tokenizer, [1], skip_special_tokens=False)
    for t in ids:
        skip.add_token(t)
        keep.add_token(t)
    assert skip.text == "hello" and keep.text == "hello</s>"


@pytest.mark.parametrize(("include", "expected"), [(False, "héllo wö"), (True, "héllo wörld")])
def test_stop_string_found_across_tokens(tokenizer, include, expected):
    detok = IncrementalDetokenizer(
        tokenizer, [1], stop=["zzz", "rld"], include_stop_str_in_output=include
    )
    found = None
    for t in tokenizer.encode(TEXT, add_special_tokens=False):
        found = detok.find_stop(detok.add_token(t))
        if found:
            break
    assert found == "rld" and detok.text == expected


def test_earliest_stop_string_wins(tokenizer):
    detok = IncrementalDetokenizer(tokenizer, [1], stop=["world", "lo w"])
    delta = "".join(
        detok.add_token(t) for t in tokenizer.encode("hello world", add_special_tokens=False)
    )
    detok.text = "hello world"
    assert detok.find_stop(delta) == "lo w" and detok.text == "hel"
