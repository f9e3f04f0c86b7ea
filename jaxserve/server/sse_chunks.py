"""The Server-Sent Events of streamed completions and chats, chunk by chunk."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

from jaxserve.server import responses
from jaxserve.server.async_engine import OutputStream, SequenceUpdate
from jaxserve.server.protocol import GenerationRequest
from jaxserve.server.reasoning import ReasoningFormat, ReasoningSplitter
from jaxserve.server.tool_formats import ToolCallFormat
from jaxserve.server.tool_parsers import ToolCallStream
from jaxserve.server.usage import UsageTracker, usage_field

Decode = Callable[[int], str]  # a token's text


async def completion_chunks(
    stream: OutputStream,
    envelope: responses.Envelope,
    parsed: GenerationRequest,
    echoes: list[str],
    prompt_ids: list[list[int]],
    decode: Decode,
) -> AsyncIterator[bytes]:
    """A streamed completion's SSE events: each choice's echo first, then its deltas, then
    the usage chunk if asked for."""
    extra: dict[str, Any] = {"usage": None} if parsed.include_usage else {}
    offsets = [len(e) for e in echoes]
    started = [False] * len(echoes)
    tracker = UsageTracker(len(echoes), parsed.params.n)
    top = parsed.params.logprobs
    async for update in stream:
        tracker.add(update)
        if silent(update, parsed):
            continue
        i = update.index
        choice = responses.completion_delta(update, top, decode, offsets[i])
        if not started[i]:  # the echo, and what is known of the prompt, go first
            choice["text"] = echoes[i] + choice["text"]
            started[i] = True
            if echo_scored(parsed):
                choice["logprobs"] = responses.echo_logprobs(
                    prompt_ids[i],
                    responses.padded(update.prompt_logprobs, len(prompt_ids[i])),
                    update.token_ids,
                    update.logprobs or [],
                    top,
                    decode,
                    echoes[i],
                )
            if parsed.prompt_logprobs is not None:
                choice["prompt_logprobs"] = responses.prompt_logprobs_field(
                    update.prompt_logprobs, decode
                )
        offsets[update.index] += len(update.text)
        yield responses.sse(envelope.body([choice], **usage_field(parsed, tracker, extra)))
    if parsed.include_usage:
        yield responses.sse(envelope.body([], usage=tracker.usage()))


async def chat_chunks(
    stream: OutputStream,
    envelope: responses.Envelope,
    parsed: GenerationRequest,
    n: int,
    decode: Decode,
    reasoning_format: ReasoningFormat | None,
    tool_format: ToolCallFormat | None,
) -> AsyncIterator[bytes]:
    """A streamed chat's SSE events: each choice's role, then its deltas (reasoning and tool
    calls split out where the server reads them), then the usage chunk if asked for."""
    extra: dict[str, Any] = {"usage": None} if parsed.include_usage else {}
    for index in range(n):
        role = {"role": "assistant", "content": ""}
        first = {"index": index, "delta": role, "logprobs": None, "finish_reason": None}
        yield responses.sse(envelope.body([first], **extra))
    tracker = UsageTracker(n, n)
    prompt_sent = parsed.prompt_logprobs is None
    splitters = [ReasoningSplitter(reasoning_format) for _ in range(n)] if reasoning_format else []
    tool_calls = parsed.tools is not None and parsed.tools.calls_possible
    tool_streams = [ToolCallStream(tool_format) for _ in range(n)] if tool_calls else []
    one_call = parsed.tools is not None and not parsed.tools.parallel
    async for update in stream:
        tracker.add(update)
        if silent(update, parsed):
            continue
        finished = update.finish_reason is not None
        split = None
        if splitters:
            splitter = splitters[update.index]
            reasoning, content = splitter.feed(update.text)
            if finished:
                held = splitter.finish()
                reasoning, content = reasoning + held[0], content + held[1]
            split = (reasoning, content)
        calls = None
        if tool_streams:
            tools = tool_streams[update.index]
            reasoning, content = split or ("", update.text)
            events = tools.feed(content) + (tools.finish() if finished else [])
            calls = [e for e in events if isinstance(e, dict)]
            if one_call:  # parallel_tool_calls false: the first call alone
                calls = [e for e in calls if e["index"] == 0]
            split = (reasoning, "".join(e for e in events if isinstance(e, str)))
            if finished and tools.calls and update.finish_reason == "stop":
                update = dataclasses.replace(update, finish_reason="tool_calls")
        choice = responses.chat_delta(
            update, parsed.params.logprobs, decode, split, tool_calls=calls
        )
        fields = usage_field(parsed, tracker, extra)
        if not prompt_sent and update.prompt_logprobs is not None:  # once, on the first
            fields = {
                **fields,
                "prompt_logprobs": responses.prompt_logprobs_field(update.prompt_logprobs, decode),
            }
            prompt_sent = True
        yield responses.sse(envelope.body([choice], **fields))
    if parsed.include_usage:
        yield responses.sse(envelope.body([], usage=tracker.usage()))


def silent(update: SequenceUpdate, parsed: GenerationRequest) -> bool:
    """An update with nothing to show yet (its text is held back) sends no chunk."""
    return (
        not update.text
        and update.finish_reason is None
        and parsed.params.logprobs is None
        and update.prompt_logprobs is None
    )


def echo_scored(parsed: GenerationRequest) -> bool:
    """Echo with logprobs: the completion's `logprobs` covers the prompt's tokens too."""
    return parsed.echo and parsed.params.logprobs is not None
