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
from jaxserve.server.reasoning import ReasoningFormat, split_reasoning
from jaxserve.server.tool_parsers import ToolCallFormat, extract

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
    prompt_logprobs: list[dict[int, Logprob] | None] | None = None

    def add(self, update: SequenceUpdate) -> None:
        if update.prompt_logprobs is not None:
            self.prompt_logprobs = update.prompt_logprobs
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
    token_ids: list[int],
    entries: list[dict[int, Logprob] | None],
    decode: TokenDecoder,
    offset: int,
    top: int | None = None,
) -> JSON:
    """`choices[i].logprobs` of a text completion (the legacy parallel-lists shape).

    An entry of None (a prompt's first token, which nothing predicts) gives null logprobs.
    `top`: the most alternatives an entry lists besides its own token (None: all it holds).
    """
    tokens = [decode(t) for t in token_ids]
    offsets = []
    for text in tokens:
        offsets.append(offset)
        offset += len(text)

    def alternatives(token: int, entry: dict[int, Logprob]) -> JSON:
        ranked = _ranked(entry, len(entry) if top is None else top)
        if all(t != token for t, _ in ranked):
            ranked.append((token, entry[token]))
        return {decode(t): lp.logprob for t, lp in ranked}

    pairs = list(zip(token_ids, entries, strict=True))
    return {
        "tokens": tokens,
        "token_logprobs": [None if e is None else e[t].logprob for t, e in pairs],
        "top_logprobs": [None if e is None else alternatives(t, e) for t, e in pairs],
        "text_offset": offsets,
    }


def echo_logprobs(
    prompt_ids: list[int],
    prompt_entries: list[dict[int, Logprob] | None],
    token_ids: list[int],
    entries: list[dict[int, Logprob]],
    top: int,
    decode: TokenDecoder,
    prefix: str,
) -> JSON:
    """The legacy `logprobs` of an echoed completion: the prompt's tokens, then the output's.

    The prompt's offsets run from 0; the output's from the end of the echoed text `prefix`.
    """
    prompt = completion_logprobs(prompt_ids, prompt_entries, decode, 0, top)
    output = completion_logprobs(token_ids, entries, decode, len(prefix), top)
    return {key: prompt[key] + output[key] for key in prompt}


def padded(entries: list | None, length: int) -> list:
    """`entries` cut or padded with None to `length` (a sequence aborted mid-prompt has fewer)."""
    entries = list(entries or [])[:length]
    return entries + [None] * (length - len(entries))


def prompt_logprobs_field(
    entries: list[dict[int, Logprob] | None] | None, decode: TokenDecoder
) -> list[JSON | None] | None:
    """vLLM's `prompt_logprobs`: per prompt token, {token id: {logprob, rank, decoded_token}}."""
    if entries is None:
        return None
    return [
        None
        if entry is None
        else {
            str(token): {"logprob": lp.logprob, "rank": lp.rank, "decoded_token": decode(token)}
            for token, lp in sorted(entry.items(), key=lambda item: item[1].rank)
        }
        for entry in entries
    ]


def chat_choice(
    choice: Choice,
    top: int | None,
    decode: TokenDecoder,
    reasoning: ReasoningFormat | None = None,
    tool_format: ToolCallFormat | None = None,
    *,
    parallel_calls: bool = True,
) -> JSON:
    """One choice of a chat completion; with a `reasoning` format, its thinking apart; with a
    `tool_format`, the calls in its reply as `tool_calls` (finish reason "tool_calls"), only
    the first unless `parallel_calls`."""
    message: JSON = {"role": "assistant", "content": choice.text}
    if reasoning is not None:
        message["reasoning_content"], message["content"] = split_reasoning(reasoning, choice.text)
    finish_reason = choice.finish_reason
    if tool_format is not None:
        message["content"], calls = extract(tool_format, message["content"] or "")
        calls = calls if parallel_calls else calls[:1]
        if calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in calls
            ]
            finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
    return {
        "index": choice.index,
        "message": message,
        "logprobs": (
            None if top is None else chat_logprobs(choice.token_ids, choice.logprobs, top, decode)
        ),
        "finish_reason": finish_reason,
        "stop_reason": choice.stop_reason,
    }


def completion_choice(
    choice: Choice,
    logprobs: int | None,
    decode: TokenDecoder,
    prefix: str = "",
    *,
    prompt_ids: list[int] | None = None,
    prompt_logprobs: int | None = None,
) -> JSON:
    """One choice of a completion. `prefix`: the echoed prompt text; with `prompt_ids` too
    (echo with logprobs), `logprobs` covers the prompt's tokens before the output's.
    `prompt_logprobs`: as the request asked, adding vLLM's `prompt_logprobs` list."""
    out = {
        "index": choice.index,
        "text": prefix + choice.text,
        "logprobs": None,
        "finish_reason": choice.finish_reason,
        "stop_reason": choice.stop_reason,
    }
    if logprobs is not None and prompt_ids is not None:
        entries = padded(choice.prompt_logprobs, len(prompt_ids))
        out["logprobs"] = echo_logprobs(
            prompt_ids, entries, choice.token_ids, choice.logprobs, logprobs, decode, prefix
        )
    elif logprobs is not None:
        out["logprobs"] = completion_logprobs(
            choice.token_ids, choice.logprobs, decode, len(prefix)
        )
    if prompt_logprobs is not None:
        out["prompt_logprobs"] = prompt_logprobs_field(choice.prompt_logprobs, decode)
    return out


def chat_delta(
    update: SequenceUpdate,
    top: int | None,
    decode: TokenDecoder,
    split: tuple[str, str] | None = None,
    *,
    tool_calls: list[JSON] | None = None,
) -> JSON:
    """One streamed chat choice: the new text, and the finish reason on the last one.

    `split`: the new text as (reasoning, content), where a reasoning or tool-call parser is on;
    `tool_calls`: OpenAI's tool-call deltas the new text completed."""
    if split is None:
        delta = {"content": update.text} if update.text or update.finish_reason is None else {}
    else:
        reasoning, content = split
        delta = {"reasoning_content": reasoning} if reasoning else {}
        if content or (not reasoning and not tool_calls and update.finish_reason is None):
            delta["content"] = content
    if tool_calls:
        delta["tool_calls"] = tool_calls
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
