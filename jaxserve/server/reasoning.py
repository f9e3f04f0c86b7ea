"""Reasoning parsers: a thinking model's `<think>...</think>` as `reasoning_content`.

Qwen3 and DeepSeek-R1 write their reasoning between `<think>` and `</think>` before the answer.
`reasoning_parser` in the server config (vLLM's names) makes chat replies carry it apart, as
`message.reasoning_content` and, streamed, `delta.reasoning_content`:
- `qwen3`: reasoning only inside an explicit `<think>...</think>` at the start (with
  `enable_thinking: false` the template writes an empty pair, and all text is content);
- `deepseek_r1`: the template already opens `<think>` in the prompt, so the reply starts
  inside the reasoning, up to `</think>`; without that tag it is all reasoning.

The streaming splitter holds back text that may be the start of a tag split over two
deltas, so no fragment of a tag ever reaches the client.
"""

from __future__ import annotations

import dataclasses

START, END = "<think>", "</think>"


@dataclasses.dataclass(frozen=True)
class ReasoningFormat:
    name: str
    starts_inside: bool  # the prompt opened the reasoning: the reply begins in it


PARSERS = {
    "qwen3": ReasoningFormat("qwen3", starts_inside=False),
    "deepseek_r1": ReasoningFormat("deepseek_r1", starts_inside=True),
}


def split_reasoning(fmt: ReasoningFormat, text: str) -> tuple[str | None, str]:
    """A whole reply as (reasoning_content, content); None where it holds no reasoning."""
    splitter = ReasoningSplitter(fmt)
    reasoning, content = splitter.feed(text)
    more_reasoning, more_content = splitter.finish()
    reasoning = (reasoning + more_reasoning).rstrip()
    return (reasoning or None), content + more_content


class ReasoningSplitter:
    """Splits a streamed reply into reasoning and content deltas."""

    def __init__(self, fmt: ReasoningFormat):
        # "before": not yet known whether a <think> opens the reply (qwen3 only)
        self.state = "inside" if fmt.starts_inside else "before"
        self.saw_reasoning = fmt.starts_inside
        self.pending = ""  # text held back: it may be the start of a tag
        self.trim = True  # drop the whitespace that opens a section (after a tag)

    def feed(self, delta: str) -> tuple[str, str]:
        """(reasoning, content) that `delta` makes certain."""
        text = self.pending + delta
        self.pending = ""
        reasoning = content = ""
        while text:
            if self.state == "before":
                stripped = text.lstrip()
                if stripped.startswith(START):
                    self.state, self.saw_reasoning, self.trim = "inside", True, True
                    text = stripped[len(START) :]
                elif START.startswith(stripped):  # maybe the tag, not complete yet
                    self.pending = text
                    return reasoning, content
                else:
                    self.state = "after"
            elif self.state == "inside":
                text = self._trimmed(text)
                at = text.find(END)
                if at >= 0:
                    reasoning += text[:at]
                    text = text[at + len(END) :]
                    self.state, self.trim = "after", True
                    continue
                keep = _partial_suffix(text, END)
                reasoning += text[: len(text) - keep]
                self.pending = text[len(text) - keep :]
                return reasoning, content
            else:
                content += self._trimmed(text)
                text = ""
        return reasoning, content

    def _trimmed(self, text: str) -> str:
        if self.trim:
            text = text.lstrip()
            self.trim = not text  # still at the section's start until some text comes
        return text

    def finish(self) -> tuple[str, str]:
        """What was held back, once the reply has ended."""
        text, self.pending = self.pending, ""
        if self.state == "inside":
            return text, ""
        return "", text


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of `text` that begins `tag` (0 if none)."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
