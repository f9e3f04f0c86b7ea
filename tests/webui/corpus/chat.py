"""Corpus apps of the Chat family: ChatInterface, a Blocks chatbot, likes on Gradio 6 messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("chat")

# The text of each message, without its buttons (copy, like).
MESSAGES = (
    "return [...document.querySelectorAll('.webui-message')]"
    ".map((m) => [...m.querySelectorAll('.webui-prose')].map((p) => p.textContent).join('').trim())"
)


@table("ChatInterface with a streaming fn and its history in messages form")
def chat_interface(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def echo(message: str, history: list[dict[str, str]]) -> Iterator[str]:
        reply = f"{message[::-1]} ({len(history)} before)"
        for end in range(1, len(reply) + 1, 4):
            time.sleep(0.01)
            yield reply[:end]
        yield reply

    demo = gr.ChatInterface(echo, title="Mirror bot")

    def exercise(page: Page) -> None:
        box = page.find("[data-testid=textbox] :is(input, textarea)")
        box.send_keys("hello", Keys.ENTER)
        until(lambda: page.script(MESSAGES) == ["hello", "olleh (0 before)"])
        page.until_idle()  # a message sent while the reply streams would be ignored
        box.send_keys("abc", Keys.ENTER)
        until(lambda: page.script(MESSAGES)[-1:] == ["cba (2 before)"])

    return demo, exercise


@table("Blocks chatbot: Textbox submit appends Gradio 6 messages and clears the box")
def chatbot_blocks(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def respond(message: str, history: list[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
        answer = f"**{len(message.split())}** words"
        return "", [
            *history,
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer},
        ]

    with gr.Blocks() as demo:
        chat = gr.Chatbot(elem_id="chat")
        message = gr.Textbox(label="Message", elem_id="message")
        message.submit(respond, [message, chat], [message, chat])

    def exercise(page: Page) -> None:
        page.type("#message input", "count these three", Keys.ENTER)
        until(lambda: page.script(MESSAGES) == ["count these three", "3 words"])
        assert page.find("#chat .webui-message-assistant strong").text == "3"
        assert page.value("#message input") == ""

    return demo, exercise


@table("Chatbot like on messages whose content is Gradio 6's list of parts (gr.LikeData)")
def chatbot_likes(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Name a colour"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Teal"}]},
        {"role": "user", "content": [{"type": "text", "text": "Another"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Amber"}]},
    ]

    def rate(evt: gr.LikeData) -> str:
        text = evt.value[0]["text"] if isinstance(evt.value, list) else evt.value
        return f"{'liked' if evt.liked else 'disliked'} message {evt.index}: {text}"

    with gr.Blocks() as demo:
        chat = gr.Chatbot(history, elem_id="chat")
        verdict = gr.Textbox(label="Verdict", elem_id="verdict")
        chat.like(rate, None, verdict)

    def exercise(page: Page) -> None:
        assert len(page.all('#chat .webui-like[data-liked="true"]')) == 2  # the assistant's only
        page.all('#chat .webui-like[data-liked="true"]')[1].click()
        page.until_value("#verdict input", "liked message 3: Amber")

    return demo, exercise


@table("Chatbot retry (gr.RetryData): the retry button under the last answer asks again")
def chatbot_retry(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    answers = iter(["Teal", "Amber", "Coral"])
    history = [
        {"role": "user", "content": "Name a colour"},
        {"role": "assistant", "content": next(answers)},
    ]

    def again(chat: list[dict[str, str]], evt: gr.RetryData) -> list[dict[str, str]]:
        return [*chat[: evt.index + 1], {"role": "assistant", "content": next(answers)}]

    with gr.Blocks() as demo:
        chat = gr.Chatbot(history, elem_id="chat")
        chat.retry(again, chat, chat)

    def exercise(page: Page) -> None:
        retry = page.script(
            "return [...document.querySelectorAll('#chat button')].find((b) =>"
            " /retry/i.test(b.title + b.ariaLabel + b.textContent)) ?? null"
        )
        assert retry is not None, "no retry button in the Chatbot"
        retry.click()
        until(lambda: page.script(MESSAGES) == ["Name a colour", "Amber"])

    return demo, exercise
