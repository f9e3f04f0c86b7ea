"""ChatInterface(fn): a chat app around `fn(message, history, *additional_inputs)`.

`fn` returns its reply, or yields the reply so far (streaming); see `webui.chat_turns`. Two paths
reach it, wired as Gradio wires them:

- the page: submitting the textbox saves the message (running `validator` first) and clears
  the box, shows the message in the Chatbot, then runs `fn` on the session's `chatbot_state`
  (its reply grows in the Chatbot, `additional_outputs` get the rest), then copies the Chatbot
  into `chatbot_state`/`chatbot_value` and re-enables the box (and, with `save_history`,
  saves the conversation in the browser). Stop cancels the run; the Chatbot's
  trash button empties the chat, its retry and undo buttons redo or take back the last message;
  clicking an example runs it (or shows its cached reply); editing a message reruns from it.
- the API: one endpoint named after `fn` (`/echo` for `def echo`; `api_name=` to rename) takes
  the message (and the additional inputs) and returns the reply as JSON (and the additional
  outputs), keeping the conversation in the session's `chatbot_state`, so consecutive
  `client.predict("hi", api_name="/echo")` calls of one gradio_client continue one chat.

Apps set the conversation from their own events through `chatbot_value`, as in Gradio.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

from webui.blocks import Blocks
from webui.chat_examples import ExampleClicks, example_messages
from webui.chat_flagging import ChatCSVLogger
from webui.chat_turns import ChatTurns
from webui.chat_wiring import ChatWiring
from webui.components import (
    JSON,
    BrowserState,
    Button,
    Component,
    Dataset,
    Markdown,
    MultimodalTextbox,
    State,
    Textbox,
    component_instance,
)
from webui.components.chat import Chatbot, pairs_to_messages
from webui.examples import Examples
from webui.layouts import Accordion, Column, Row

_FLAGGING_MODES = ("never", "manual")
_PROGRESS = ("full", "minimal", "hidden")
_AUTOFOCUS = "webui-chat-autofocus"
# The page focuses the chat's textbox once it is built (autofocus=True), by its class: block
# ids change when the chat is rendered into another Blocks.
_FOCUS_JS = (
    "() => { document.querySelector('." + _AUTOFOCUS + " :is(textarea, input[type=text])')"
    "?.focus(); }"
)


class ChatInterface(Blocks):
    """A Chatbot, a textbox with Submit/Stop buttons and the chat API around `fn`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        multimodal: bool = False,
        type: Literal["messages", "tuples"] = "messages",
        chatbot: Chatbot | None = None,
        textbox: Textbox | MultimodalTextbox | None = None,
        additional_inputs: str | Component | list[str | Component] | None = None,
        additional_inputs_accordion: str | Accordion | None = None,
        additional_outputs: Component | list[Component] | None = None,
        editable: bool = False,
        examples: list[Any] | None = None,
        example_labels: list[str] | None = None,
        example_icons: list[str] | None = None,
        run_examples_on_click: bool = True,
        cache_examples: bool | None = None,
        cache_mode: Literal["eager", "lazy"] | None = None,
        title: str | None = None,
        description: str | None = None,
        flagging_mode: Literal["never", "manual"] | None = None,
        flagging_options: list[str] | tuple[str, ...] | None = ("Like", "Dislike"),
        flagging_dir: str = ".gradio/flagged",
        autofocus: bool = True,
        autoscroll: bool = True,
        submit_btn: str | bool | None = True,
        stop_btn: str | bool | None = True,
        concurrency_limit: int | Literal["default"] | None = "default",
        show_progress: Literal["full", "minimal", "hidden"] = "minimal",
        api_name: str | None = None,
        api_description: str | Literal[False] | None = None,
        api_visibility: Literal["public", "private", "undocumented"] = "public",
        save_history: bool = False,
        validator: Callable[..., Any] | None = None,
        **blocks_kwargs: Any,
    ):
        """`flagging_mode` None reads `$GRADIO_CHAT_FLAGGING_MODE` ("never" without it);
        `type="tuples"` hands `fn` the history as [user, assistant] pairs (webui's addition);
        other keywords (`theme`, `css`, `fill_height`, ...) go to Blocks."""
        if isinstance(fn, ChatInterface):
            fn = fn.fn
        if not callable(fn):
            raise TypeError(f"ChatInterface fn must be callable, got {fn!r}")
        if type not in ("messages", "tuples"):
            raise ValueError(f"ChatInterface type must be 'messages' or 'tuples', got {type!r}")
        if flagging_mode is None:
            flagging_mode = os.environ.get("GRADIO_CHAT_FLAGGING_MODE", "never")  # type: ignore[assignment]
        if flagging_mode not in _FLAGGING_MODES:
            raise ValueError(
                f"ChatInterface flagging_mode must be 'never' or 'manual', got {flagging_mode!r}"
            )
        if show_progress not in _PROGRESS:
            raise ValueError(f"ChatInterface show_progress must be one of {_PROGRESS}")
        if cache_mode not in (None, "eager", "lazy"):
            raise ValueError(
                f"ChatInterface cache_mode must be 'eager', 'lazy' or None: {cache_mode!r}"
            )
        # Made inside another app's `with`, a given Chatbot or textbox belongs to that app: take
        # it out, so it shows in the chat (Gradio unrenders them too).
        for given in (chatbot, textbox):
            if isinstance(given, Component):
                given.unrender()
        blocks_kwargs.setdefault("fill_height", True)
        super().__init__(title=title or "webui", **blocks_kwargs)
        self.fn, self.type, self.multimodal = fn, type, multimodal
        self.additional_inputs = self._components(additional_inputs, "additional_inputs")
        self.additional_outputs = self._components(additional_outputs, "additional_outputs")
        self.turns = ChatTurns(
            fn, n_additional_outputs=len(self.additional_outputs), pairs=type == "tuples"
        )
        self.streaming = self.turns.streaming
        self.examples, self.cache_examples = examples, cache_examples
        self.run_examples_on_click, self.editable = run_examples_on_click, editable
        self.show_progress, self.validator = show_progress, validator
        self.save_history, self.flagging_mode = save_history, flagging_mode
        self.concurrency_limit = concurrency_limit
        self.examples_in_table = bool(self.additional_inputs) and self._extra_in_examples()
        messages = example_messages(examples, example_labels, example_icons)
        with self:
            self.conversation_id = State(None)  # the saved conversation shown (save_history)
            self.saved_input = State()  # the message being answered
            self.null_component = State()  # the reply as the page's run returns it
            with Column():
                self._render_header(title, description)
                area = (chatbot, textbox, messages, (submit_btn, stop_btn), autofocus, autoscroll)
                if save_history:
                    with Row():
                        self._render_history_area()
                        with Column(scale=6):
                            self._render_chat(*area)
                            self._render_footer(additional_inputs_accordion, cache_mode)
                else:
                    self._render_chat(*area)
                    self._render_footer(additional_inputs_accordion, cache_mode)
            wiring = ChatWiring(self)
            # The API first: the page's nameless events (Stop) never take fn's name before it.
            wiring.wire_api(api_name, api_description, api_visibility)
            self.submit_event = wiring.wire_submit()
            wiring.wire_chatbot_events()
            if flagging_mode == "manual":
                self.flagging_callback = ChatCSVLogger()
                self.flagging_callback.setup(flagging_dir)
                self.chatbot.feedback_options = list(flagging_options or [])
                self.chatbot.like(self.flagging_callback.flag, self.chatbot)
            if save_history:
                wiring.wire_history()
            if autofocus and textbox is None:
                self.load(None, None, None, js=_FOCUS_JS, api_name=False)
        # Made inside another Blocks, the chat shows where it was made, as in Gradio.
        self.render()

    @staticmethod
    def _components(given: Any, name: str) -> list[Component]:
        """Components, or (for additional_inputs) Gradio's string shortcuts of them."""
        listed = [given] if isinstance(given, Component | str) else list(given or [])
        components = []
        for item in listed:
            if isinstance(item, str) and name == "additional_inputs":
                item = component_instance(item)
            if not isinstance(item, Component):
                raise TypeError(f"ChatInterface {name} must be components, got {item!r}")
            components.append(item)
        return components

    def _extra_in_examples(self) -> bool:
        """Whether examples give values for the additional inputs (then they show as a table)."""
        for example in self.examples or []:
            if not isinstance(example, list):
                raise ValueError(
                    "ChatInterface examples must be a list of lists when additional inputs "
                    "are provided"
                )
            if any(value is not None for value in example[1:]):
                return True
        return False

    def _render_header(self, title: str | None, description: str | None) -> None:
        if title:
            Markdown(f"<h1 style='text-align: center; margin-bottom: 1rem'>{title}</h1>")
        if description:
            Markdown(description)

    def _render_history_area(self) -> None:
        """save_history's panel: New chat, and the saved conversations (in the browser)."""
        self.saved_conversations = BrowserState([], storage_key=f"_saved_conversations_{self.id}")
        with Column(scale=1, min_width=100):
            self.new_chat_button = Button("New chat", variant="primary")
            self.chat_history_dataset = Dataset(
                components=[Textbox(visible=False)], show_label=False, layout="table", type="index"
            )

    def _render_chat(
        self,
        chatbot: Chatbot | None,
        textbox: Textbox | MultimodalTextbox | None,
        messages: list[dict[str, Any]],
        buttons: tuple[str | bool | None, str | bool | None],
        autofocus: bool,
        autoscroll: bool,
    ) -> None:
        submit_btn, stop_btn = buttons
        examples = None if self.examples_in_table else messages or None
        if chatbot is None:
            chatbot = Chatbot(label="Chatbot", type=self.type, scale=1, autoscroll=autoscroll)
        if not isinstance(chatbot, Chatbot):
            raise TypeError(f"ChatInterface chatbot must be a gr.Chatbot, got {chatbot!r}")
        self.chatbot = chatbot.render()  # type: ignore[assignment]
        self.chatbot.examples = examples
        if self.editable and self.chatbot.editable is None:
            self.chatbot.editable = "user"  # the page lets the user edit their messages
        with Row():
            self.textbox = self._render_textbox(textbox, submit_btn, autofocus)
            submit = "Submit" if submit_btn is True else submit_btn or None
            self.submit_button = None
            if isinstance(self.textbox, Textbox) and submit:
                self.submit_button = Button(submit, variant="primary", scale=0)
            stop = "Stop" if stop_btn is True else stop_btn
            self.stop_button = Button(stop or "Stop", variant="stop", scale=0,
                                      visible=self.streaming and bool(stop))  # fmt: skip
        initial = list(self.chatbot.value or [])
        if initial and isinstance(initial[0], list | tuple):
            initial = pairs_to_messages(initial)
        self.fake_api_btn = Button("Fake API", visible=False)
        self.api_response = JSON(visible=False, label="Response")
        # `chatbot_state` is what `fn` sees as the history; apps write `chatbot_value`.
        self.chatbot_state = State(initial)
        self.chatbot_value = State(initial)

    def _render_textbox(
        self, textbox: Textbox | MultimodalTextbox | None, submit_btn: Any, autofocus: bool
    ) -> Textbox | MultimodalTextbox:
        if textbox is None:
            kind = MultimodalTextbox if self.multimodal else Textbox
            options: dict[str, Any] = {"submit_btn": submit_btn} if self.multimodal else {}
            if self.multimodal:
                options["autofocus"] = autofocus
            box = kind(show_label=False, label="", placeholder="Type a message...", scale=7,
                       elem_classes=[_AUTOFOCUS] if autofocus else None, **options)  # fmt: skip
            return box  # type: ignore[return-value]
        if not isinstance(textbox, Textbox | MultimodalTextbox):
            raise TypeError(
                f"ChatInterface textbox must be a Textbox or MultimodalTextbox, got {textbox!r}"
            )
        textbox.show_label = False
        return textbox.render()  # type: ignore[return-value]

    def _render_footer(self, accordion: str | Accordion | None, cache_mode: Any) -> None:
        self.examples_handler: Examples | None = None
        if self.examples:
            rows = [e if isinstance(e, list) else [e] for e in self.examples]
            inputs = [self.textbox, *self.additional_inputs]
            self.examples_handler = Examples(
                examples=[(row + [None] * len(inputs))[: len(inputs)] for row in rows],
                inputs=inputs,
                outputs=self.chatbot,
                fn=self.turns.example_fn(),
                cache_examples=self.cache_examples,
                cache_mode=cache_mode,
                visible=self.examples_in_table,
                preprocess=self.examples_in_table,
                preload=False,
            )
        cached = self.examples_handler if self.cache_examples else None
        self.example_clicks = ExampleClicks(multimodal=self.multimodal, cached=cached)
        unrendered = [c for c in self.additional_inputs if c._id is None]
        if unrendered:
            label = "Additional Inputs"
            options: dict[str, Any] = {"open": False}
            if isinstance(accordion, str):
                label, options = accordion, {}
            elif isinstance(accordion, Accordion):
                label, options = accordion.label or label, {"open": accordion.open}
            elif accordion is not None:
                raise ValueError(
                    "ChatInterface additional_inputs_accordion must be a string or gr.Accordion, "
                    f"got {accordion!r}"
                )
            with Accordion(label, **options):
                for component in unrendered:
                    component.render()
