"""Token counts of a generation call: its `usage` field, streamed or whole."""

from __future__ import annotations

from typing import Any

from jaxserve.server import responses
from jaxserve.server.async_engine import SequenceUpdate
from jaxserve.server.protocol import GenerationRequest


def usage_field(
    parsed: GenerationRequest, tracker: UsageTracker, extra: dict[str, Any]
) -> dict[str, Any]:
    """A content chunk's `usage`: so far with `continuous_usage_stats`, else as `extra`."""
    return {"usage": tracker.usage()} if parsed.continuous_usage else extra


class UsageTracker:
    """Token counts of a streamed call, for its final usage chunk."""

    def __init__(self, num_choices: int, n: int):
        self.n = n
        self.prompt = [0] * num_choices
        self.completion = [0] * num_choices
        self.cached = [0] * num_choices

    def add(self, update: SequenceUpdate) -> None:
        self.prompt[update.index] = update.num_prompt_tokens
        self.completion[update.index] = update.num_output_tokens
        self.cached[update.index] = update.num_cached_tokens

    def usage(self) -> dict[str, Any]:
        firsts = range(0, len(self.prompt), self.n)  # each prompt counts once, not n times
        return responses.usage(
            sum(self.prompt[i] for i in firsts),
            sum(self.completion),
            sum(self.cached[i] for i in firsts),
        )


def choices_usage(
    choices: list[responses.Choice], num_prompt_tokens: int, n: int
) -> dict[str, Any]:
    cached = sum(c.num_cached_tokens for c in choices[::n])
    return responses.usage(num_prompt_tokens, sum(c.num_tokens for c in choices), cached)
