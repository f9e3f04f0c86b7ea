"""OpenAI response bodies: choices, stream chunks, logprobs and usage, built from engine updates.

Pure functions of `SequenceUpdate`s and a token decoder, so the same code shapes a streamed
chunk and the one JSON answer of a non-streaming call.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from jaxserve.outputs import Logprob
from jaxserve.server.async_engine import SequenceUpdate

TokenDecoder = Callable[[int], str]
JSON = dict[str, Any]


@dataclasses.dataclass
class Choice:
    """One sequence's output gathered over its updates (non-streaming calls)."""

    index: int
    text: str = ""
    num_tokens: int = 0
    logprobs: list[dict[int, Logprob]] = dataclasses.field(default_factory=list)
    token_ids: list[int] = dataclasses.field(default_factory=list)
    finish_reason: str | None = None
    stop_reason: int | str | None = None
    num_cached_tokens: int = 0

    def add(self, update: SequenceUpdate) -> None:
        self.text += update.text
        self.token_ids += update.token_ids
        self.logprobs += update.logprobs or []
        self.num_tokens = update.num_output_tokens
        self.finish_reason = update.finish_reason
        self.stop_reason = update.stop_reason
        self.num_cached_tokens = update.num_cached_tokens


@dataclasses.dataclass(frozen=True)
class Envelope:
    """What every body of one API call shares."""

    id: str
    object: str
    model: str
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))

    def body(self, choices: list[JSON], **extra: Any) -> JSON:
        return {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }


def usage(num_prompt_tokens: int, num_completion_tokens: int, num_cached_tokens: int) -> JSON:
    return {
        "prompt_tokens": num_prompt_tokens,
        "completion_tokens": num_completion_tokens,
        "total_tokens": num_prompt_tokens + num_completion_tokens,
        "prompt_tokens_details": {"cached_tokens": num_cached_tokens},
    }


def sse(data: JSON | str) -> bytes:
    """One Server-Sent Events message."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _ranked(entry: dict[int, Logprob], top: int) -> list[tuple[int, Logprob]]:
    return sorted(entry.items(), key=lambda item: item[1].rank)[:top]


def chat_logprobs(
    token_ids: list[int], entries: list[dict[int, Logprob]], top: int, decode: TokenDecoder
) -> JSON:
    """`choices[i].logprobs` of a chat completion: one item per token with its top alternatives."""

    def item(token: int, logprob: Logprob) -> JSON:
        text = decode(token)
        return {"token": text, "logprob": logprob.logprob, "bytes": list(text.encode())}

    return {
        "content": [
            {
                **item(token, entry[token]),
                "top_logprobs": [item(t, lp) for t, lp in _ranked(entry, top)],
            }
            for token, entry in zip(token_ids, entries, strict=True)
        ]
    }


def completion_logprobs(
    token_ids: list[int], entries: list[dict[int, Logprob]], decode: TokenDecoder, offset: int
) -> JSON:
    """`choices[i].logprobs` of a text completion (the legacy parallel-lists shape)."""
    tokens = [decode(t) for t in token_ids]
    offsets = []
    for text in tokens:
        offsets.append(offset)
        offset += len(text)
    return {
        "tokens": tokens,
        "token_logprobs": [e[t].logprob for t, e in zip(token_ids, entries, strict=True)],
        "top_logprobs": [
            {decode(t): lp.logprob for t, lp in sorted(e.items(), key=lambda i: i[1].rank)}
            for e in entries
        ],
        "text_offset": offsets,
    }


def chat_choice(choice: Choice, top: int | None, decode: TokenDecoder) -> JSON:
    return {
        "index": choice.index,
        "message": {"role": "assistant", "content": choice.text},
        "logprobs": (
            None if top is None else chat_logprobs(choice.token_ids, choice.logprobs, top, decode)
        ),
        "finish_reason": choice.finish_reason,
        "stop_reason": choice.stop_reason,
    }


def completion_choice(
    choice: Choice, logprobs: int | None, decode: TokenDecoder, prefix: str = ""
) -> JSON:
    return {
        "index": choice.index,
        "text": prefix + choice.text,
        "logprobs": (
            None
            if logprobs is None
            else completion_logprobs(choice.token_ids, choice.logprobs, decode, len(prefix))
        ),
        "finish_reason": choice.finish_reason,
        "stop_reason": choice.stop_reason,
    }


def chat_delta(update: SequenceUpdate, top: int | None, decode: TokenDecoder) -> JSON:
    """One streamed chat choice: the new text, and the finish reason on the last one."""
    delta = {"content": update.text} if update.text or update.finish_reason is None else {}
    return {
        "index": update.index,
        "delta": delta,
        "logprobs": (
            None
            if top is None
            else chat_logprobs(update.token_ids, update.logprobs or [], top, decode)
        ),
        "finish_reason": update.finish_reason,
        "stop_reason": update.stop_reason,
    }


def completion_delta(
    update: SequenceUpdate, logprobs: int | None, decode: TokenDecoder, offset: int
) -> JSON:
    return {
        "index": update.index,
        "text": update.text,
        "logprobs": (
            None
            if logprobs is None
            else completion_logprobs(update.token_ids, update.logprobs or [], decode, offset)
        ),
        "finish_reason": update.finish_reason,
        "stop_reason": update.stop_reason,
    }
