"""Incremental detokenization and stop strings.

Decoding a growing token list one token at a time can split a multi-byte UTF-8 character
over two tokens, and tokenizers that merge spaces (SentencePiece) decode a lone token
differently than in context. So each step decodes a small window that starts a few tokens
back, emits only the text past what that window already produced, and holds everything
back while the window ends in a partial character.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

REPLACEMENT = "\ufffd"  # what a decoder yields for an incomplete UTF-8 sequence
CONTEXT_TOKENS = 5


class Tokenizer(Protocol):
    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = ...) -> str: ...


class IncrementalDetokenizer:
    def __init__(
        self,
        tokenizer: Tokenizer,
        prompt_token_ids: Sequence[int],
        *,
        skip_special_tokens: bool = True,
        stop: Sequence[str] = (),
        include_stop_str_in_output: bool = False,
    ):
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.stop = list(stop)
        self.include_stop = include_stop_str_in_output
        self.tokens = list(prompt_token_ids[-CONTEXT_TOKENS:])
        self.prefix_offset = 0
        self.read_offset = len(self.tokens)
        self.text = ""

    def _decode(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=self.skip_special_tokens)

    def add_token(self, token: int) -> str:
        """Appends a token; returns the new text (empty while a character is incomplete)."""
        self.tokens.append(token)
        return self._advance(final=False)

    def flush(self) -> str:
        """At the end: emits what is held back, an incomplete character included."""
        return self._advance(final=True) if self.read_offset < len(self.tokens) else ""

    def _advance(self, *, final: bool) -> str:
        prefix = self._decode(self.tokens[self.prefix_offset : self.read_offset])
        full = self._decode(self.tokens[self.prefix_offset :])
        if len(full) <= len(prefix) or (full.endswith(REPLACEMENT) and not final):
            return ""
        delta = full[len(prefix) :]
        self.prefix_offset, self.read_offset = self.read_offset, len(self.tokens)
        self.text += delta
        return delta

    def find_stop(self, delta: str) -> str | None:
        """Looks for a stop string that the latest `delta` completed; trims `text` at it."""
        if not delta or not self.stop:
            return None
        longest = max(len(s) for s in self.stop)
        start = max(len(self.text) - len(delta) - longest + 1, 0)
        found = [(i, s) for s in self.stop if (i := self.text.find(s, start)) != -1]
        if not found:
            return None
        index, stop = min(found)
        self.text = self.text[: index + len(stop) if self.include_stop else index]
        return stop
