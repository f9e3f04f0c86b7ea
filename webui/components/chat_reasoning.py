"""Chatbot(reasoning_tags=...): a model's reasoning, written between tags, shown as a thought.

Each text part of a message is split at the tags, in order: the text between an open tag and
its close tag (or the end, while the model is still writing) becomes a message of its own
with `metadata={"title": "Reasoning", "status": "done" | "pending"}`; the prose around it stays
a message with the original metadata and options; files and components follow in one message.
"""

from __future__ import annotations

import re
from typing import Any

Segment = tuple[str, bool, str]  # (text, is_reasoning, status)


def checked_reasoning_tags(tags: Any) -> list[tuple[str, str]] | None:
    if tags is None:
        return None
    if not isinstance(tags, list | tuple) or not all(
        isinstance(pair, list | tuple)
        and len(pair) == 2
        and all(isinstance(tag, str) and tag for tag in pair)
        for pair in tags
    ):
        raise ValueError(f"Chatbot reasoning_tags is a list of (open, close) tags, got {tags!r}")
    return [(open_tag, close_tag) for open_tag, close_tag in tags]


def reasoning_segments(text: str, tags: list[tuple[str, str]]) -> list[Segment]:
    """The text's prose and reasoning, in order; empty pieces are dropped."""
    pattern = "|".join(f"{re.escape(o)}(.*?)(?:{re.escape(c)}|$)" for o, c in tags)
    segments: list[Segment] = []
    end = 0
    for match in re.finditer(pattern, text, re.DOTALL):
        prose = text[end : match.start()].strip()
        if prose:
            segments.append((prose, False, "done"))
        inner = next((g for g in match.groups() if g is not None), "").strip()
        if inner:
            closed = any(match.group(0).endswith(close) for _, close in tags)
            segments.append((inner, True, "done" if closed else "pending"))
        end = match.end()
    rest = text[end:].strip()
    if rest:
        segments.append((rest, False, "done"))
    return segments


def split_reasoning(message: dict[str, Any], tags: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A wire message as the messages it shows: reasoning thoughts, prose, then other parts."""
    split: list[dict[str, Any]] = []
    others = [part for part in message["content"] if part["type"] != "text"]
    for part in message["content"]:
        if part["type"] != "text":
            continue
        for text, is_reasoning, status in reasoning_segments(part["text"], tags):
            content = [{"type": "text", "text": text}]
            if is_reasoning:
                metadata = {"title": "Reasoning", "status": status}
                split.append({"role": message["role"], "metadata": metadata,
                              "content": content, "options": None})  # fmt: skip
            else:
                split.append({**message, "content": content})
    if others:
        split.append({**message, "content": others})
    return split
