"""One turn of a ChatInterface: `fn(message, history, *additional_inputs)` and the history after.

`fn` returns (or yields, when streaming) its reply: a string, a component, a message dict, a
`gr.ChatMessage`, or a list of these; with `additional_outputs` a tuple (reply, *values). A
turn appends the user's message and the reply to the conversation, as Gradio's ChatInterface
does; `fn` gets a shallow copy of the history, so appending to it changes nothing.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

from webui.components.base import Component
from webui.components.chat import Chatbot
from webui.components.chat_message import ChatMessage
from webui.components.chat_parts import Message, plain_content
from webui.errors import Error
from webui.event_data import EditData, SelectData
from webui.updates import skip

ChatRole = Literal["user", "assistant"]


def as_history_messages(message: Any, role: ChatRole) -> list[Message]:
    """The messages a user's input or `fn`'s reply adds to the history, given `role`."""
    if message is None:
        return []
    added: list[Message] = []
    for item in message if isinstance(message, list) else [message]:
        if isinstance(item, ChatMessage):
            item.role = role
            added.append(item.as_dict())
        elif isinstance(item, str | Component):
            added.append({"role": role, "content": item})
        elif isinstance(item, dict) and "content" in item:
            item["role"] = role
            added.append(item)
        elif isinstance(item, dict) and ("text" in item or "files" in item):
            # A MultimodalTextbox value: its files, then its text, as one message.
            files = [f.get("path") if isinstance(f, dict) else f for f in item.get("files") or []]
            content: list[Any] = [{"path": path} for path in files]
            if item.get("text"):
                content.append(item["text"])
            added.append({"role": role, "content": content})
        else:
            raise Error(
                "a chat function returns a string, a component, a {'role', 'content'} message, "
                f"a gr.ChatMessage or a list of them, got {type(item).__name__}"
            )
    return added


def append_to_history(message: Any, history: list[Any], role: ChatRole = "user") -> list[Any]:
    """A new list: `history` and the messages `message` adds (shared, not copied)."""
    return [*(history or []), *as_history_messages(message, role)]


def pairs_for_fn(history: list[Any]) -> list[list[Any]]:
    """The history as [user, assistant] pairs of plain content, for `type="tuples"`."""
    plain = []
    for message in history:
        message = message.as_dict() if isinstance(message, ChatMessage) else message
        content = message["content"]
        if isinstance(content, list) and all(isinstance(p, dict) for p in content):
            content = plain_content(content)
        plain.append({**message, "content": content})
    return Chatbot._as_pairs(plain)


def api_safe(response: Any) -> Any:
    """A reply as the API's JSON output carries it: messages as dicts, components as values."""
    if isinstance(response, ChatMessage):
        return api_safe(response.as_dict())
    if isinstance(response, Component):
        return response.constructor_args.get("value")
    if isinstance(response, list | tuple):
        return [api_safe(item) for item in response]
    if isinstance(response, dict):
        return {key: api_safe(value) for key, value in response.items()}
    return response


def option_clicked(history: list[Any], option: SelectData) -> tuple[list[Any], Any]:
    """A suggested reply clicked: it becomes the user's message (and the one to answer)."""
    return [*history, {"role": "user", "content": option.value}], option.value


def edit_message(history: list[Any], edit: EditData) -> tuple[list[Any], list[Any], Any]:
    """A message edited: the chat before it (shown, and as the history) and the new text."""
    index = edit.index[0] if isinstance(edit.index, list | tuple) else edit.index
    kept = history[:index]
    return kept, kept, edit.value


def _content_parts(content: Any) -> list[Any]:
    return content if isinstance(content, list) else [content]


def pop_last_user_message(history: list[Any], multimodal: bool = False) -> tuple[list[Any], Any]:
    """The history without its last exchange, and the user's message(s) in it: their text,
    or for a multimodal chat `{"text", "files": [path, ...]}`."""
    history = list(history or [])
    i = len(history) - 1
    while i >= 0 and history[i]["role"] == "assistant":
        i -= 1
    while i >= 0 and history[i]["role"] == "user":
        i -= 1
    text, files = "", []
    for message in history[i + 1 :]:
        if message["role"] != "user":
            continue
        for part in _content_parts(message["content"]):
            if isinstance(part, str):
                text += part
            elif isinstance(part, dict) and part.get("type") == "text":
                text += part.get("text", "")
            elif isinstance(part, dict) and isinstance(part.get("file"), dict):
                files.append(part["file"].get("path"))
            elif isinstance(part, dict) and "path" in part:
                files.append(part["path"])
    return history[: i + 1], {"text": text, "files": files} if multimodal else text


class ChatTurns:
    """Runs `fn` for a ChatInterface and builds the event functions around it."""

    def __init__(
        self, fn: Callable[..., Any], *, n_additional_outputs: int, pairs: bool = False
    ) -> None:
        self.fn = fn
        self.n_outputs = n_additional_outputs
        self.pairs = pairs
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        self.streaming = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)

    def _inputs(self, message: Any, history: list[Any], extra: tuple[Any, ...]) -> list[Any]:
        history = list(history or [])
        return [message, pairs_for_fn(history) if self.pairs else history, *extra]

    def _split(self, response: Any) -> tuple[Any, list[Any]]:
        """(reply, additional output values) of one response of `fn`."""
        if not self.n_outputs:
            return response, []
        if not isinstance(response, tuple | list) or len(response) != 1 + self.n_outputs:
            raise Error(
                f"with {self.n_outputs} additional_outputs a chat function returns (reply, "
                f"{self.n_outputs} more value(s)), got {response!r}"
            )
        reply, *more = response
        return reply, more

    def _step(self, response: Any, history: list[Any]) -> tuple[Any, ...]:
        reply, more = self._split(response)
        return (reply, append_to_history(reply, history, "assistant"), *more)

    def _empty(self, history: list[Any]) -> tuple[Any, ...]:
        return (None, history, *[skip() for _ in range(self.n_outputs)])

    def run(self, message: Any, history: list[Any], *extra: Any) -> tuple[Any, ...]:
        response = self.fn(*self._inputs(message, history, extra))
        return self._step(response, append_to_history(message, history, "user"))

    async def run_async(self, message: Any, history: list[Any], *extra: Any) -> tuple[Any, ...]:
        response = await self.fn(*self._inputs(message, history, extra))
        return self._step(response, append_to_history(message, history, "user"))

    def stream(self, message: Any, history: list[Any], *extra: Any) -> Iterator[tuple[Any, ...]]:
        generator = self.fn(*self._inputs(message, history, extra))
        history = append_to_history(message, history, "user")
        empty = True
        try:
            for response in generator:
                empty = False
                yield self._step(response, history)
        finally:
            close = getattr(generator, "close", None)  # a Stop ends fn's generator too
            if close is not None:
                close()
        if empty:
            yield self._empty(history)

    async def stream_async(
        self, message: Any, history: list[Any], *extra: Any
    ) -> AsyncIterator[tuple[Any, ...]]:
        generator = self.fn(*self._inputs(message, history, extra))
        history = append_to_history(message, history, "user")
        empty = True
        try:
            async for response in generator:
                empty = False
                yield self._step(response, history)
        finally:
            await generator.aclose()
        if empty:
            yield self._empty(history)

    def event_fn(self, *, for_api: bool) -> Callable[..., Any]:
        """The submit function: (reply, history, *additional outputs) per step.

        The API's is named and documented as `fn` (its endpoint is `/echo` for `def echo`, its
        parameters `fn`'s) and sends the reply as JSON; the page's is `_submit_fn`, so it never
        takes the API's name.
        """
        chosen: Callable[..., Any]
        if self.streaming and self.is_async:

            async def chosen(*args: Any) -> AsyncIterator[tuple[Any, ...]]:
                async for step in self.stream_async(*args):
                    yield (api_safe(step[0]), *step[1:]) if for_api else step

        elif self.streaming:

            def chosen(*args: Any) -> Iterator[tuple[Any, ...]]:
                for step in self.stream(*args):
                    yield (api_safe(step[0]), *step[1:]) if for_api else step

        elif self.is_async:

            async def chosen(*args: Any) -> tuple[Any, ...]:
                step = await self.run_async(*args)
                return (api_safe(step[0]), *step[1:]) if for_api else step

        else:

            def chosen(*args: Any) -> tuple[Any, ...]:
                step = self.run(*args)
                return (api_safe(step[0]), *step[1:]) if for_api else step

        if not for_api:
            chosen.__name__ = "_submit_fn"
            return chosen
        chosen.__doc__ = inspect.getdoc(self.fn)
        chosen.__name__ = getattr(self.fn, "__name__", type(self.fn).__name__)
        # A callable without a signature (a builtin) leaves the parameters their generic names.
        with contextlib.suppress(TypeError, ValueError):
            chosen.__signature__ = inspect.signature(self.fn)  # type: ignore[attr-defined]
        return chosen

    def example_fn(self) -> Callable[..., Any]:
        """fn for cached examples: the example's conversation, `fn` run on an empty history."""
        run_example: Callable[..., Any]
        if self.streaming and self.is_async:

            async def run_example(message: Any, *extra: Any) -> AsyncIterator[list[Any]]:
                async for step in self.stream_async(message, [], *extra):
                    yield step[1]

        elif self.streaming:

            def run_example(message: Any, *extra: Any) -> Iterator[list[Any]]:
                for step in self.stream(message, [], *extra):
                    yield step[1]

        elif self.is_async:

            async def run_example(message: Any, *extra: Any) -> list[Any]:
                return (await self.run_async(message, [], *extra))[1]

        else:

            def run_example(message: Any, *extra: Any) -> list[Any]:
                return self.run(message, [], *extra)[1]

        return run_example
