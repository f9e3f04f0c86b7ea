"""ChatInterface(fn): a chat app around `fn(message, history, *additional_inputs)`.

`fn` returns the reply, or yields the reply so far (streaming). `history` is a list of
`{"role", "content"}` messages (pairs with `type="tuples"`). Two paths reach it:

- the page: Textbox `submit` / Submit button run one streaming event whose first output
  clears the textbox and shows the user's message, and whose later outputs grow the reply in the
  Chatbot; the Stop button cancels it and Clear empties the conversation;
- the API: one endpoint named as Gradio names it, after `fn` (`/echo` for `def echo`; `/chat`
  with `api_name="chat"`), takes the message (and the additional inputs) and returns the
  reply, keeping the conversation in the session's `State`, so consecutive
  `client.predict("hi", api_name="/echo")` calls of one gradio_client continue one conversation.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

from webui.blocks import Blocks
from webui.components import JSON, Button, Component, Markdown, State, Textbox
from webui.components.chat import Chatbot, Message, pairs_to_messages
from webui.errors import Error
from webui.layouts import Accordion, Row

Turn = tuple[str, list[Message]]  # (the reply so far, the whole conversation with it)
logger = logging.getLogger(__name__)

# Gradio ChatInterface options that webui does not implement, with Gradio's defaults: a value
# equal to the default changes nothing and is accepted (Gradio apps often spell defaults out);
# any other value is refused, never ignored.
_UNSUPPORTED_OPTIONS: dict[str, Any] = {
    "autofocus": True,
    "autoscroll": True,
    "cache_examples": None,
    "cache_mode": None,
    "delete_cache": None,
    "editable": False,
    "example_icons": None,
    "example_labels": None,
    "flagging_dir": ".gradio/flagged",
    "flagging_options": ("Like", "Dislike"),
    "run_examples_on_click": True,
    "save_history": False,
    "show_progress": "minimal",
}


def _refuse_unsupported(options: dict[str, Any]) -> None:
    """Raises for an unimplemented option set to anything but Gradio's default."""
    for name, value in options.items():
        default = _UNSUPPORTED_OPTIONS[name]
        same = value == default or (isinstance(default, tuple) and list(default) == value)
        if not same:
            raise TypeError(
                f"ChatInterface({name}={value!r}) is not supported by webui (only Gradio's "
                f"default, {default!r}, is accepted)"
            )


def _reply_messages(reply: Any) -> list[Message]:
    """The assistant messages `fn`'s reply adds: a string, a message dict or a list of them."""
    if reply is None:
        return []
    if isinstance(reply, str):
        return [{"role": "assistant", "content": reply}]
    if isinstance(reply, dict) and "content" in reply:
        return [{**reply, "role": reply.get("role", "assistant")}]
    if isinstance(reply, list) and all(isinstance(m, dict) and "content" in m for m in reply):
        return [{**m, "role": m.get("role", "assistant")} for m in reply]
    raise Error(
        f"a chat function returns a string or a {{'role', 'content'}} message, got "
        f"{type(reply).__name__}"
    )


def _clear() -> tuple[list[Message], list[Message]]:
    """The Clear button: an empty Chatbot and history (named, so no lambda takes `/lambda`)."""
    return [], []


def _take_signature(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> None:
    # A callable without a signature (a builtin) leaves the parameters their generic names.
    with contextlib.suppress(TypeError, ValueError):
        wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]


class ChatInterface(Blocks):
    """A Chatbot, a Textbox, Submit/Stop/Clear buttons and the `/chat` API around `fn`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        type: Literal["messages", "tuples"] = "messages",
        chatbot: Chatbot | None = None,
        textbox: Textbox | None = None,
        additional_inputs: Component | list[Component] | None = None,
        additional_inputs_accordion: str = "Additional Inputs",
        title: str | None = None,
        description: str | None = None,
        examples: list[Any] | None = None,
        api_name: str | None = None,
        api_description: str | None = None,
        api_visibility: Literal["public", "private", "undocumented"] = "public",
        flagging_mode: Literal["never", "manual"] | None = None,
        concurrency_limit: int | Literal["default"] | None = "default",
        submit_btn: str = "Submit",
        stop_btn: str = "Stop",
        **blocks_kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(f"ChatInterface fn must be callable, got {fn!r}")
        if type not in ("messages", "tuples"):
            raise ValueError(f"ChatInterface type must be 'messages' or 'tuples', got {type!r}")
        if flagging_mode not in (None, "never", "manual"):
            raise ValueError(
                f"ChatInterface flagging_mode must be 'never' or 'manual', got {flagging_mode!r}"
            )
        if flagging_mode == "manual":
            raise TypeError("ChatInterface(flagging_mode='manual') is not supported by webui")
        _refuse_unsupported({k: v for k, v in blocks_kwargs.items() if k in _UNSUPPORTED_OPTIONS})
        blocks_kwargs = {k: v for k, v in blocks_kwargs.items() if k not in _UNSUPPORTED_OPTIONS}
        super().__init__(title=title or "webui", **blocks_kwargs)
        self.fn = fn
        self.type = type
        self.streaming = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        if isinstance(additional_inputs, Component):
            additional_inputs = [additional_inputs]
        self.additional_inputs = list(additional_inputs or [])
        for component in self.additional_inputs:
            if not isinstance(component, Component):
                raise TypeError(f"additional_inputs must be components, got {component!r}")
        example_messages = [{"text": self._example_text(e)} for e in examples or []]
        with self:
            if title:
                Markdown(f"# {title}")
            if description:
                Markdown(description)
            self.chatbot = chatbot or Chatbot(label="Chatbot", type=type)
            self.chatbot.render()
            if example_messages:
                self.chatbot.examples = example_messages
            with Row():
                self.textbox = textbox or Textbox(
                    show_label=False, label="", placeholder="Type a message..."
                )
                self.textbox.render()
                self.submit_button = Button(submit_btn, variant="primary")
                self.stop_button = Button(stop_btn, variant="stop", visible=self.streaming)
                self.clear_button = Button("Clear")
            if self.additional_inputs:
                with Accordion(additional_inputs_accordion, open=False):
                    for component in self.additional_inputs:
                        component.render()
            initial = list(self.chatbot.value or [])
            if initial and not isinstance(initial[0], dict):
                initial = pairs_to_messages(initial)
            self.history = State(initial)
            self.api_response = JSON(visible=False, label="Response")
            self._wire(
                concurrency_limit,
                api_name=api_name,
                api_description=api_description,
                api_visibility=api_visibility,
            )

    @staticmethod
    def _example_text(example: Any) -> str:
        if isinstance(example, str):
            return example
        if isinstance(example, dict) and isinstance(example.get("text"), str):
            return example["text"]
        if isinstance(example, list | tuple) and example and isinstance(example[0], str):
            return example[0]
        raise TypeError(f"a ChatInterface example is a message string, got {example!r}")

    def _wire(self, concurrency_limit: Any, **api: Any) -> None:
        extra = self.additional_inputs
        page_options: dict[str, Any] = {
            "api_visibility": "undocumented",
            "concurrency_limit": concurrency_limit,
        }
        page_fn = self._page_fn()
        outputs = [self.textbox, self.chatbot]
        submitted = self.textbox.submit(
            page_fn, [self.textbox, self.chatbot, *extra], outputs, **page_options
        )
        clicked = self.submit_button.click(
            page_fn, [self.textbox, self.chatbot, *extra], outputs, **page_options
        )
        self.stop_button.click(None, None, None, cancels=[submitted, clicked], api_name=False)
        self.clear_button.click(
            _clear,
            None,
            [self.chatbot, self.history],
            api_visibility="undocumented",
            queue=False,
        )
        # The API: reply only, conversation in the session's State; results go out unchanged.
        # Named after fn unless api_name says otherwise, as in Gradio.
        hidden = Button("chat", visible=False)
        hidden.click(
            self._api_fn(),
            [self.textbox, self.history, *extra],
            [self.api_response, self.history],
            **api,
            concurrency_limit=concurrency_limit,
            postprocess=False,
        )

    def _history_for_fn(self, history: list[Any]) -> list[Any]:
        history = list(history)
        return Chatbot._as_pairs(history) if self.type == "tuples" else history

    def _turns(self, message: str, history: list[Message], *extra: Any) -> Iterator[Turn]:
        """Each (reply so far, conversation) of one sync turn, user message included."""
        conversation = [*history, {"role": "user", "content": message}]
        reply = self.fn(message, self._history_for_fn(history), *extra)
        if not self.streaming:
            yield reply, conversation + _reply_messages(reply)
            return
        for partial in reply:
            yield partial, conversation + _reply_messages(partial)

    async def _async_turns(
        self, message: str, history: list[Message], *extra: Any
    ) -> AsyncIterator[Turn]:
        conversation = [*history, {"role": "user", "content": message}]
        if not self.streaming:
            reply = await self.fn(message, self._history_for_fn(history), *extra)
            yield reply, conversation + _reply_messages(reply)
            return
        async for partial in self.fn(message, self._history_for_fn(history), *extra):
            yield partial, conversation + _reply_messages(partial)

    def _page_fn(self) -> Callable[..., Any]:
        """fn for the page: first clear the box and show the message, then the reply grows."""
        if inspect.iscoroutinefunction(self.fn) or inspect.isasyncgenfunction(self.fn):

            async def _submit_fn_async(message: str, history: list[Message], *extra: Any):  # type: ignore[no-untyped-def]
                yield "", [*history, {"role": "user", "content": message}]
                async for _, conversation in self._async_turns(message, history, *extra):
                    yield "", conversation

            return _submit_fn_async

        # Named as Gradio's own page fn, so it never takes the name of the API endpoint.
        def _submit_fn(message: str, history: list[Message], *extra: Any):  # type: ignore[no-untyped-def]
            yield "", [*history, {"role": "user", "content": message}]
            for _, conversation in self._turns(message, history, *extra):
                yield "", conversation

        return _submit_fn

    def _api_fn(self) -> Callable[..., Any]:
        """fn for the API: (reply, conversation) per step; streams when `fn` does."""
        fn = self.fn
        if inspect.isasyncgenfunction(fn):

            async def chat_stream_async(message: str, *args: Any):  # type: ignore[no-untyped-def]
                async for turn in self._async_turns(message, *args):
                    yield turn

            chosen: Callable[..., Any] = chat_stream_async
        elif inspect.iscoroutinefunction(fn):

            async def chat_async(message: str, *args: Any) -> Turn:
                return await anext(self._async_turns(message, *args))

            chosen = chat_async
        elif self.streaming:

            def chat_stream(message: str, *args: Any) -> Iterator[Turn]:
                yield from self._turns(message, *args)

            chosen = chat_stream
        else:

            def chat(message: str, *args: Any) -> Turn:
                return next(self._turns(message, *args))

            chosen = chat
        chosen.__doc__ = inspect.getdoc(fn)
        # Named as fn (Gradio's functools.wraps), so the endpoint is too: /echo for `def echo`.
        chosen.__name__ = getattr(fn, "__name__", type(fn).__name__)
        _take_signature(chosen, fn)  # the endpoint's parameters are named as fn's
        return chosen
