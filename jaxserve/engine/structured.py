"""Structured outputs on the host: grammars compiled by llguidance, one token mask per row.

`GrammarCompiler` turns a `StructuredOutputsParams` into a `Grammar` (an llguidance matcher in
its start state) and keeps the last few hundred by key, so a schema sent again costs a copy,
not a compilation. The server compiles in a worker thread before it hands a request to the
engine, so the step loop only copies the cached matcher; `LLM.generate` compiles as it queues.

Each step, `TokenMasks.fill` writes one bitmask row i32[ceil(V / 32)] per constrained request
(bit t of word t // 32 set: token t may be drawn), the sampler applies it on device, and
`consume` feeds the drawn token back to the request's matcher. The rows are filled one after
another on the engine thread (about 20 us each, the GIL released): llguidance's thread pool
fills them no faster on two cores, and its threads, still spinning when the step starts, took
the cores from the model step (2 ms a step at 16 requests).

Why llguidance and not xgrammar (benchmarks/grammar_engines.py, figures in RESULTS.md): it
needs no torch (the base install has none, xgrammar brings 2 GB); it compiles every schema in
about a millisecond, where xgrammar took up to 2.2 s for a string with a maxLength; and the
per-step cost a server pays, one batch of 16 masks, was the same (0.23 against 0.21 ms).
xgrammar's single mask is faster at the median (1.7 against 22 us) and slower at the tail.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Any

import llguidance
import llguidance.hf
import llguidance.numpy
import numpy as np

from jaxserve.sampling_params import StructuredOutputsParams

CACHE_SIZE = 256  # compiled grammars kept
# JSON without whitespace between tokens: a model whose grammar allows any whitespace can
# spend its whole budget on newlines. A schema's own "x-guidance" options override these.
JSON_OPTIONS = {"whitespace_flexible": False}


KIND_NAMES = {
    "json": "JSON schema",
    "json_object": "JSON object grammar",
    "regex": "regex",
    "choice": "choice",
    "grammar": "grammar",
}


class GrammarError(ValueError):
    """The grammar cannot be compiled; the message names the problem."""


class Grammar:
    """A compiled grammar: `matcher()` gives each request its own copy in the start state."""

    def __init__(self, matcher: llguidance.LLMatcher):
        self._start = matcher

    def matcher(self) -> llguidance.LLMatcher:
        return self._start.deep_copy()


class GrammarCompiler:
    """Compiles grammars against one tokenizer and vocabulary; safe to call from any thread."""

    def __init__(self, tokenizer: Any, vocab_size: int, eos_token_ids: Sequence[int]):
        self._hf_tokenizer = tokenizer
        self.vocab_size = vocab_size
        self._eos = sorted(eos_token_ids)
        self._ll_tokenizer: llguidance.LLTokenizer | None = None
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[str, Grammar] = collections.OrderedDict()

    @property
    def ll_tokenizer(self) -> llguidance.LLTokenizer:
        """llguidance's view of the vocabulary (built on first use: about a second)."""
        with self._lock:
            if self._ll_tokenizer is None:
                try:
                    self._ll_tokenizer = llguidance.hf.from_tokenizer(
                        self._hf_tokenizer, n_vocab=self.vocab_size, eos_token=self._eos or None
                    )
                except Exception as e:
                    raise GrammarError(
                        f"structured outputs need a fast (tokenizers) tokenizer: {e}"
                    ) from None
            return self._ll_tokenizer

    def compile(self, spec: StructuredOutputsParams) -> Grammar:
        """The grammar of `spec`, from the cache when it was compiled before.

        Raises:
            GrammarError: the schema, regex or grammar is invalid (the message says where).
        """
        key = spec.key()
        what = KIND_NAMES[spec.kind]
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        grammar = Grammar(self._matcher(spec, what))  # outside the lock: llguidance drops the GIL
        with self._lock:
            self._cache[key] = grammar
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return grammar

    def _matcher(self, spec: StructuredOutputsParams, what: str) -> llguidance.LLMatcher:
        tokenizer = self.ll_tokenizer
        try:
            text = _grammar_text(spec)
        except ValueError as e:
            raise GrammarError(f"invalid {what}: {e}") from None
        error = llguidance.LLMatcher.validate_grammar(text, tokenizer)
        if error:
            raise GrammarError(f"invalid {what}: {error}")
        matcher = llguidance.LLMatcher(tokenizer, text, log_level=0)
        if matcher.is_error():
            raise GrammarError(f"invalid {what}: {matcher.get_error()}")
        return matcher


def _grammar_text(spec: StructuredOutputsParams) -> str:
    """llguidance's grammar definition of `spec` (raises ValueError for one it cannot read)."""
    kind = spec.kind
    if kind == "json":
        schema = spec.json
        if schema is True or schema == {}:  # any JSON value
            schema = {"type": ["object", "array", "string", "number", "boolean", "null"]}
        if schema is False:
            raise ValueError("the schema false admits no value")
        return llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=JSON_OPTIONS)
    if kind == "json_object":
        return llguidance.LLMatcher.grammar_from_json_schema(
            {"type": "object"}, defaults=JSON_OPTIONS
        )
    if kind == "regex":
        return llguidance.LLMatcher.grammar_from_regex(spec.regex)
    if kind == "choice":
        return llguidance.grammar_from("choice", spec.choice)
    return llguidance.grammar_from("grammar", spec.grammar)  # Lark, or GBNF converted


def mask_words(vocab_size: int) -> int:
    """Words of 32 bits in one row of a token mask."""
    return (vocab_size + 31) // 32


def allowed_mask(token_ids: Sequence[int], vocab_size: int) -> np.ndarray:
    """i32[W]: the mask row that allows exactly `token_ids`."""
    ids = np.asarray(token_ids, np.int64)
    words = np.zeros(mask_words(vocab_size), np.uint32)
    np.bitwise_or.at(words, ids // 32, np.left_shift(np.uint32(1), (ids % 32).astype(np.uint32)))
    return words.view(np.int32)


class TokenMasks:
    """Fills a step's token-mask rows from the matchers of its constrained requests."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def fill(
        self,
        num_rows: int,
        matchers: Sequence[tuple[llguidance.LLMatcher, int]],
        fixed: Sequence[tuple[np.ndarray, int]] = (),
    ) -> np.ndarray:
        """i32[num_rows, W]: all tokens allowed, except where a (matcher, row) or a
        (fixed mask, row) says otherwise (a row with both gets their intersection)."""
        mask = np.full((num_rows, mask_words(self.vocab_size)), -1, np.int32)
        for matcher, row in matchers:
            llguidance.numpy.fill_next_token_bitmask(matcher, mask, row)
        for words, row in fixed:
            mask[row] &= words
        return mask


def consume(matcher: llguidance.LLMatcher, token: int) -> None:
    """Advances `matcher` past the drawn `token`.

    Raises:
        GrammarError: the matcher refused the token (the mask should have barred it).
    """
    if not matcher.consume_token(token):
        raise GrammarError(f"the grammar refused token {token}: {matcher.get_error()}")
