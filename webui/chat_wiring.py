"""The page's event chains of a ChatInterface, as Gradio wires them.

Every chain that answers a message has the same shape: something puts the message to answer in
`saved_input` and shows it in the Chatbot; `fn` runs on `chatbot_state` (the history) and its
reply grows in the Chatbot; then the Chatbot is copied into `chatbot_state`/`chatbot_value`,
the textbox is enabled again and, with `save_history`, the conversation is saved. Submitting,
an example, a suggested reply, retry and an edited message each start one. All are
`api_visibility="undocumented"`: the chat's one public endpoint is its API (`wire_api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webui.chat_history import (
    conversation_list,
    delete_conversation,
    load_conversation,
    new_chat,
    save_conversation,
)
from webui.chat_turns import (
    append_to_history,
    edit_message,
    option_clicked,
    pop_last_user_message,
)
from webui.components import MultimodalTextbox
from webui.events import Dependency, on
from webui.updates import update

if TYPE_CHECKING:
    from webui.chat_interface import ChatInterface

HIDDEN: dict[str, Any] = {"api_visibility": "undocumented"}  # the page's own events
INSTANT: dict[str, Any] = {**HIDDEN, "queue": False}


def _sync_chat_state(messages: list[Any]) -> tuple[list[Any], list[Any]]:
    """The Chatbot's conversation copied into `chatbot_state` and `chatbot_value`."""
    return messages, messages


def _enable_textbox() -> dict[str, Any]:
    return update(value=None, interactive=True)


def _disable_textbox() -> dict[str, Any]:
    return update(interactive=False, placeholder="")


def _clear_and_save_textbox(message: Any) -> tuple[dict[str, Any], Any]:
    """The submitted message kept to answer; the textbox emptied and disabled meanwhile."""
    return update(value="", interactive=False, placeholder=""), message


def _same(value: Any) -> Any:
    return value


class ChatWiring:
    """Declares one ChatInterface's events (inside its `with`)."""

    def __init__(self, chat: ChatInterface) -> None:
        self.chat = chat

    def run_options(self) -> dict[str, Any]:
        """The page's run of `fn`: the saved message and the history in, the reply out."""
        chat = self.chat
        return {
            "fn": chat.turns.event_fn(for_api=False),
            "inputs": [chat.saved_input, chat.chatbot_state, *chat.additional_inputs],
            "outputs": [chat.null_component, chat.chatbot, *chat.additional_outputs],
            "concurrency_limit": chat.concurrency_limit,
            "show_progress": chat.show_progress,
            **HIDDEN,
        }

    def sync_options(self) -> dict[str, Any]:
        chat = self.chat
        return {
            "fn": _sync_chat_state,
            "inputs": [chat.chatbot],
            "outputs": [chat.chatbot_state, chat.chatbot_value],
            **INSTANT,
        }

    def after_run(self, run: Dependency) -> None:
        """What follows a run of `fn`: state synced, textbox enabled, conversation saved."""
        chat = self.chat
        synced = run.then(**self.sync_options())
        enabled = synced.then(_enable_textbox, None, chat.textbox, **HIDDEN)
        if chat.save_history:
            enabled.then(
                save_conversation,
                [chat.conversation_id, chat.chatbot_state, chat.saved_conversations],
                [chat.conversation_id, chat.saved_conversations],
                **INSTANT,
            )

    def wire_api(self, api_name: str | None, description: Any, visibility: str) -> None:
        """The chat's endpoint: results go out unchanged (postprocess=False), the reply as JSON
        and the history kept in the session's `chatbot_state`."""
        chat = self.chat
        chat.fake_api_btn.click(
            chat.turns.event_fn(for_api=True),
            [chat.textbox, chat.chatbot_state, *chat.additional_inputs],
            [chat.api_response, chat.chatbot_state, *chat.additional_outputs],
            api_name=api_name, api_description=description, api_visibility=visibility,
            concurrency_limit=chat.concurrency_limit, postprocess=False,
        )  # fmt: skip

    def wire_submit(self) -> Dependency:
        """Submit (Enter or the button) and Stop; returns the run Stop cancels."""
        chat = self.chat
        triggers = [chat.textbox.submit]
        if chat.submit_button is not None:
            triggers.append(chat.submit_button.click)
        user_submit = on(
            triggers, _clear_and_save_textbox, [chat.textbox], [chat.textbox, chat.saved_input],
            queue=bool(chat.validator), validator=chat.validator, **HIDDEN,
        )  # fmt: skip
        shown = user_submit.then(
            append_to_history, [chat.saved_input, chat.chatbot], [chat.chatbot], **INSTANT
        )
        run = shown.then(**self.run_options())
        self.after_run(run)
        retried = self._wire_retry_and_undo()
        cancels = [run, retried]
        chat.stop_button.click(None, None, None, cancels=cancels, api_name=False)
        if isinstance(chat.textbox, MultimodalTextbox):
            chat.textbox.stop(None, None, None, cancels=cancels, **HIDDEN)
        return run

    def _wire_retry_and_undo(self) -> Dependency:
        """Retry answers the last user message again; Undo takes it back into the textbox."""
        chat = self.chat
        popped = chat.chatbot.retry(
            self._pop_last_user_message, [chat.chatbot_state],
            [chat.chatbot_state, chat.saved_input], **INSTANT,
        )  # fmt: skip
        shown = popped.then(
            append_to_history, [chat.saved_input, chat.chatbot_state], [chat.chatbot], **INSTANT
        )
        run = shown.then(_disable_textbox, None, chat.textbox, **HIDDEN).then(**self.run_options())
        self.after_run(run)
        chat.chatbot.undo(
            self._pop_last_user_message, [chat.chatbot], [chat.chatbot, chat.textbox], **INSTANT
        ).then(**self.sync_options())
        return run

    def _pop_last_user_message(self, history: list[Any]) -> tuple[list[Any], Any]:
        return pop_last_user_message(history, self.chat.multimodal)

    def wire_chatbot_events(self) -> None:
        """Examples, clearing, suggested replies, edits, and `chatbot_value` set by the app."""
        chat = self.chat
        if chat.examples and not chat.examples_in_table:
            if chat.cache_examples or chat.run_examples_on_click:
                clicked = chat.chatbot.example_select(
                    chat.example_clicks.clicked, None, [chat.chatbot, chat.saved_input], **HIDDEN
                )
                if not chat.cache_examples:
                    clicked = clicked.then(**self.run_options())
                clicked.then(**self.sync_options())
            else:
                chat.chatbot.example_select(
                    chat.example_clicks.populated, None, [chat.textbox], **HIDDEN
                )
        cleared = chat.chatbot.clear(**self.sync_options())  # the page emptied the Chatbot
        if chat.save_history:
            saved = [chat.conversation_id, chat.saved_conversations]
            cleared.then(delete_conversation, saved, saved, **INSTANT)
        chat.chatbot.option_select(
            option_clicked, [chat.chatbot], [chat.chatbot, chat.saved_input], **HIDDEN
        ).then(**self.run_options()).then(**self.sync_options())
        if chat.editable:
            edited = chat.chatbot.edit(
                edit_message, [chat.chatbot],
                [chat.chatbot, chat.chatbot_state, chat.saved_input], **HIDDEN,
            ).then(append_to_history, [chat.saved_input, chat.chatbot_state], [chat.chatbot],
                   **INSTANT)  # fmt: skip
            run = edited.success(_disable_textbox, None, chat.textbox, **HIDDEN)
            self.after_run(run.success(**self.run_options()))
        # Apps set the conversation by writing `chatbot_value` from their own events.
        chat.chatbot_value.change(_same, [chat.chatbot_value], [chat.chatbot], **HIDDEN).then(
            **self.sync_options()
        )

    def wire_history(self) -> None:
        """save_history: New chat, the list of saved conversations, and loading one."""
        chat = self.chat
        chat.new_chat_button.click(
            new_chat, None, [chat.conversation_id, chat.chatbot], **INSTANT
        ).then(_same, [chat.chatbot], [chat.chatbot_state], **INSTANT)
        on([chat.load, chat.saved_conversations.change], conversation_list,
           [chat.saved_conversations], [chat.chat_history_dataset], **INSTANT)  # fmt: skip
        chat.chat_history_dataset.click(
            load_conversation, [chat.chat_history_dataset, chat.saved_conversations],
            [chat.conversation_id, chat.chatbot], show_progress="hidden", **INSTANT,
        ).then(**self.sync_options())  # fmt: skip
