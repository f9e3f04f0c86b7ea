"""A ChatInterface's examples: shown inside the empty Chatbot, a click sends one.

Examples are Gradio's ExampleMessage dicts (`text`, `files`, `display_text`, `icon`). A click
fires the Chatbot's `example_select` with `{index, value}`: the example becomes the user's
message and is answered (`run_examples_on_click`), or its cached reply shows
(`cache_examples`), or it only fills the textbox. Examples that give values for additional
inputs show as a table under the chat instead (a `gr.Examples`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from webui.chat_turns import append_to_history
from webui.event_data import SelectData
from webui.examples import Examples


def example_messages(
    examples: list[Any] | None, labels: list[str] | None, icons: list[str] | None
) -> list[dict[str, Any]]:
    """The examples as the Chatbot shows them: text, files, a label and an icon each."""
    for name, given in (("example_labels", labels), ("example_icons", icons)):
        if given is not None and len(given) != len(examples or []):
            raise ValueError(f"ChatInterface {name} needs one entry per example")
    messages = []
    for index, example in enumerate(examples or []):
        if isinstance(example, list | tuple):
            example = example[0] if example else ""
        message: dict[str, Any] = {}
        if isinstance(example, str):
            message["text"] = example
        elif isinstance(example, dict):
            message["text"] = example.get("text", "")
            message["files"] = list(example.get("files", []))
        else:
            raise TypeError(f"a ChatInterface example is a message string or dict: {example!r}")
        if labels:
            message["display_text"] = labels[index]
        if icons:
            message["icon"] = icons[index]
        messages.append(message)
    return messages


def _file_paths(value: dict[str, Any]) -> dict[str, Any]:
    files = value.get("files") or []
    return {**value, "files": [f["path"] if isinstance(f, dict) else f for f in files]}


class ExampleClicks:
    """The page's handlers of a click on an example in the Chatbot."""

    def __init__(self, *, multimodal: bool, cached: Examples | None) -> None:
        self.multimodal = multimodal
        self.cached = cached  # the gr.Examples holding cached replies, with cache_examples

    def _message(self, value: dict[str, Any]) -> Any:
        return _file_paths(value) if self.multimodal else value.get("text", "")

    def clicked(self, example: SelectData) -> Iterator[tuple[list[Any], Any]]:
        """The example as the user's message (and the message to answer); then, when
        cached, the conversation with its cached reply."""
        value = dict(example.value or {})
        message = self._message(value)
        yield append_to_history(value, [], "user"), message
        if self.cached is not None:
            yield self.cached.cached(example.index)[0], message

    def populated(self, example: SelectData) -> Any:
        """With run_examples_on_click=False a click only fills the textbox."""
        return self._message(dict(example.value or {}))
