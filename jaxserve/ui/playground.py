"""The playground page at `/`: chat and raw completion against the served model, in-process.

Generation goes through the server's own `OpenAIServing`, the code behind `/v1/chat/completions`
and `/v1/completions`: the controls become an OpenAI request body, which is validated, rendered
with the chat template and submitted to the same `AsyncEngine` as every API call, with no HTTP
hop. A bad value or a prompt that is too long is a `gr.Error` on the page. Stopping a reply (the
Stop button, or `job.cancel()` in gradio_client) cancels its event, and closing the generator
aborts the engine request, which frees its pages at once and counts as `abort` in `/metrics`.

gradio_client sees two endpoints, and with a dashboard a third, `/dashboard()` (see
`jaxserve.ui.dashboard`):

- `/chat(message, history, system_prompt, *controls)` streams `("", conversation)`: the
  conversation is a list of `{"role", "content"}` messages, the reply growing in the last one.
  For a vision-language model `message` is a MultimodalTextbox's `{"text", "files"}`: the
  images go to the model as `image_url` parts (see `jaxserve.ui.attachments`) and show in the
  user's turn, from where later turns send them again.
- `/complete(prompt, *controls)` streams `(completion, footer)`.

`controls` are temperature, top_p, top_k, max_tokens, seed (None: random), stop strings (one per
line, `\\n` for a newline) and ignore_eos. A finished reply ends with a footer line (token
counts, tokens/s); the footer is also in the message's `metadata["footer"]` and is left out of
the conversation the model sees next time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import webui as gr
from jaxserve.server.async_engine import EngineDeadError, GenerationFailed, OutputStream
from jaxserve.server.errors import APIError
from jaxserve.server.protocol import parse_chat, parse_completion
from jaxserve.server.serving import OpenAIServing
from jaxserve.ui.attachments import (
    attached_paths,
    file_part_as_image,
    image_url_part,
    shown_image,
)
from jaxserve.ui.dashboard import Dashboard

FOOTER_KEY = "footer"
DEFAULT_MAX_TOKENS = 256


@dataclasses.dataclass
class ReplyStats:
    """Counts and timing of one reply, for its footer."""

    started: float
    num_prompt_tokens: int = 0
    num_cached_tokens: int = 0
    num_output_tokens: int = 0
    first_token: float | None = None
    finish_reason: str | None = None

    def footer(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        parts = [
            f"{self.num_prompt_tokens} prompt tokens"
            + (f" ({self.num_cached_tokens} cached)" if self.num_cached_tokens else ""),
            f"{self.num_output_tokens} reply tokens",
            f"{self.num_output_tokens / elapsed:.1f} tokens/s",
        ]
        if self.first_token is not None:
            parts.append(f"first token {1000 * (self.first_token - self.started):.0f} ms")
        parts.append(f"finished: {self.finish_reason}")
        return " · ".join(parts)


def stop_strings(text: str | None) -> list[str] | None:
    """One stop string per line; `\\n` and `\\t` in a line stand for a newline and a tab."""
    lines = [line.replace("\\n", "\n").replace("\\t", "\t") for line in (text or "").splitlines()]
    stops = [line for line in lines if line]
    return stops or None


def sampling_fields(
    temperature: float | None,
    top_p: float | None,
    top_k: float | None,
    max_tokens: float | None,
    seed: float | None,
    stop: str | None,
    ignore_eos: bool | None,
) -> dict[str, Any]:
    """The controls as OpenAI request fields (validated later, as any API request's)."""
    fields: dict[str, Any] = {
        "temperature": temperature,
        "top_p": top_p,
        "top_k": None if top_k is None else int(top_k),
        "max_tokens": None if max_tokens is None else int(max_tokens),
        "seed": None if seed is None else int(seed),
        "stop": stop_strings(stop),
        "ignore_eos": bool(ignore_eos),
    }
    return {k: v for k, v in fields.items() if v is not None}


def verbatim(text: str) -> list[dict[str, str]]:
    """Message content the Chatbot shows as it is: a text part, which (unlike a bare string,
    dedented as Gradio's Chatbot does) keeps the model's indentation, in code above all."""
    return [{"type": "text", "text": text}]


def model_content(content: Any) -> str | list[dict[str, Any]]:
    """A Chatbot message's content as an OpenAI message's: its text, or where it holds images
    (file parts, as the playground shows what a user attached) text and image parts in order.

    Raises:
        gr.Error: a part is neither text nor a file, or a file is not a readable image.
    """
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "file":
            if (image := file_part_as_image(part)) is None:
                raise gr.Error("the conversation holds a message that is not text or an image")
            parts.append(image)
        else:
            raise gr.Error("the conversation holds a message that is not text or an image")
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def model_messages(history: list[dict[str, Any]], system_prompt: str | None) -> list[dict]:
    """The conversation for the chat template: footers removed, the system prompt first, and
    images a user attached as `image_url` parts (so later turns still see them)."""
    messages: list[dict[str, Any]] = []
    if system_prompt and system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt})
    for message in history:
        # a Chatbot's message as webui hands it over (Gradio 6's list of parts)
        content = model_content(message.get("content"))
        footer = (message.get("metadata") or {}).get(FOOTER_KEY)
        if (
            message.get("role") == "assistant"
            and isinstance(content, str)
            and isinstance(footer, str)
        ):
            content = content.removesuffix(footer).removesuffix("\n\n")
        messages.append({"role": message["role"], "content": content})
    return messages


def user_turn(message: str | dict[str, Any] | None) -> tuple[str, list[str]]:
    """The text and the attached files' paths of a Textbox or MultimodalTextbox value."""
    if isinstance(message, dict):
        text = message.get("text") or ""
        if not isinstance(text, str):
            raise gr.Error(f"a message's text is a string, not {type(text).__name__}")
        return text, attached_paths(message.get("files"))
    return message or "", []


class Playground:
    """The page's event functions over one server's `OpenAIServing`."""

    def __init__(self, serving: OpenAIServing):
        self.serving = serving

    async def _open(self, start: Callable[[], Awaitable[OutputStream]]) -> OutputStream:
        try:
            return await start()
        except APIError as e:
            raise gr.Error(e.message) from None

    async def _replies(
        self, stream: OutputStream, stats: ReplyStats
    ) -> AsyncIterator[tuple[str, bool]]:
        """(text so far, finished) per engine update; aborts the request if closed early."""
        text = ""
        try:
            async for update in stream:
                if update.token_ids and stats.first_token is None:
                    stats.first_token = time.monotonic()
                stats.num_prompt_tokens = update.num_prompt_tokens
                stats.num_cached_tokens = update.num_cached_tokens
                stats.num_output_tokens = update.num_output_tokens
                stats.finish_reason = update.finish_reason
                text += update.text
                if update.text or update.finish_reason is not None:
                    yield text, update.finish_reason is not None
        except EngineDeadError as e:
            raise gr.Error(f"the engine stopped: {e}") from None
        except GenerationFailed as e:
            raise gr.Error(str(e)) from None
        finally:
            stream.aclose()  # cancelled (Stop) or failed: the engine frees the pages now

    async def chat(
        self,
        message: str | dict[str, Any] | None,
        history: list[dict[str, Any]] | None,
        system_prompt: str | None,
        *controls: Any,
    ) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
        """Streams ("", conversation): the textbox cleared, the reply growing at the end.

        `message` is the Textbox's text, or a vision-language model's MultimodalTextbox value
        `{"text", "files": [path, ...]}`: its images go to the model before its text, and the
        conversation shows them in the user's turn.
        """
        typed, paths = user_turn(message)
        if not typed.strip() and not paths:
            raise gr.Error("type a message first")
        history = list(history or [])
        # Files are read (and base64-encoded) off the event loop: other replies keep streaming.
        images = await asyncio.to_thread(lambda: [image_url_part(path) for path in paths])
        earlier = await asyncio.to_thread(model_messages, history, system_prompt)
        content: Any = [*images, *([{"type": "text", "text": typed}] if typed else [])]
        messages = [*earlier, {"role": "user", "content": content if images else typed}]
        body = {"messages": messages, **sampling_fields(*controls)}

        async def start() -> OutputStream:
            parsed = parse_chat(body, limits=self.serving.limits)
            return await self.serving.submit([await self.serving.render_chat(parsed)], parsed)

        stats = ReplyStats(time.monotonic())
        stream = await self._open(start)
        shown = [*(shown_image(path) for path in paths), *(verbatim(typed) if typed else [])]
        conversation = [*history, {"role": "user", "content": shown}]
        yield "", conversation
        async for text, finished in self._replies(stream, stats):
            reply: dict[str, Any] = {"role": "assistant", "content": verbatim(text)}
            if finished:
                footer = f"*{stats.footer(time.monotonic())}*"
                reply = {
                    **reply,
                    "content": verbatim(f"{text}\n\n{footer}"),
                    "metadata": {FOOTER_KEY: footer},
                }
            yield "", [*conversation, reply]

    async def complete(self, prompt: str | None, *controls: Any) -> AsyncIterator[tuple[str, str]]:
        """Streams (completion so far, footer)."""
        if not prompt:
            raise gr.Error("type a prompt first")
        body = {"prompt": prompt, **sampling_fields(*controls)}

        async def start() -> OutputStream:
            parsed = parse_completion(body, limits=self.serving.limits)
            return await self.serving.submit(self.serving.completion_prompts(parsed), parsed)

        stats = ReplyStats(time.monotonic())
        stream = await self._open(start)
        yield "", ""
        async for text, finished in self._replies(stream, stats):
            yield text, stats.footer(time.monotonic()) if finished else ""


def message_box(serving: OpenAIServing) -> gr.Textbox | gr.MultimodalTextbox:
    """The Chat tab's message box: for a vision-language model a MultimodalTextbox, which
    takes images (uploaded, or pasted into it) beside the text, else a plain Textbox."""
    if serving.prompt_processor is None:
        return gr.Textbox(
            show_label=False, placeholder="Message (Enter sends)", scale=4, elem_id="message"
        )
    return gr.MultimodalTextbox(
        show_label=False,
        placeholder="Message; attach or paste images (Enter sends)",
        file_types=["image"],
        file_count="multiple",
        submit_btn=False,  # the row's Send button sends
        scale=4,
        elem_id="message",
    )


def playground(
    serving: OpenAIServing,
    *,
    max_model_len: int,
    dashboard: Dashboard | None = None,
    blocks: gr.Blocks | None = None,
    api_path: str | None = "/v1",
) -> gr.Blocks:
    """The page: a Chat tab and a Completion tab sharing one column of sampling controls, and
    with `dashboard` a Dashboard tab of the server's metrics.

    The page is built in `blocks` if given (an empty Blocks, such as `jaxserve.ui.ChatApp`),
    else in a new `gr.Blocks`; either is returned. Its header names `api_path`, where the
    OpenAI API is served beside it (None: nowhere).
    """
    events = Playground(serving)
    name = serving.model_name
    if blocks is None:
        blocks = gr.Blocks(title=f"jaxserve · {name}")
    with blocks:
        api = f" · OpenAI API at `{api_path}`" if api_path else ""
        gr.Markdown(f"# jaxserve playground\nModel `{name}`{api}")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tab("Chat"):
                    chatbot = gr.Chatbot(
                        type="messages", label="Conversation", height=460, elem_id="chatbot"
                    )
                    with gr.Row():
                        message = message_box(serving)
                        send = gr.Button("Send", variant="primary", scale=1)
                        chat_stop = gr.Button("Stop", variant="stop", scale=1, elem_id="chat-stop")
                        clear = gr.Button("Clear", scale=1)
                    system_prompt = gr.Textbox(
                        label="System prompt", lines=2, placeholder="You are a helpful assistant."
                    )
                with gr.Tab("Completion"):
                    prompt = gr.Textbox(label="Prompt", lines=6, elem_id="prompt")
                    with gr.Row():
                        run = gr.Button("Generate", variant="primary", elem_id="generate")
                        completion_stop = gr.Button("Stop", variant="stop")
                    completion = gr.Textbox(
                        label="Completion", lines=10, interactive=False, elem_id="completion"
                    )
                    completion_footer = gr.Markdown(elem_id="completion-footer")
                if dashboard is not None:
                    with gr.Tab("Dashboard"):
                        dashboard.render()
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("### Sampling")
                controls = [
                    gr.Slider(0, 2, value=0.7, step=0.05, label="Temperature"),
                    gr.Slider(0, 1, value=1.0, step=0.01, label="Top-p"),
                    gr.Slider(0, 200, value=0, step=1, label="Top-k (0: off)"),
                    gr.Slider(
                        1,
                        max_model_len,
                        value=min(DEFAULT_MAX_TOKENS, max_model_len),
                        step=1,
                        label="Max tokens",
                    ),
                    gr.Number(value=None, precision=0, label="Seed (empty: random)"),
                    gr.Textbox(label="Stop strings (one per line)", lines=2),
                    gr.Checkbox(value=False, label="Ignore end of sequence"),
                ]
        chat_inputs = [message, chatbot, system_prompt, *controls]
        generating = {"concurrency_limit": None}  # the engine batches; it has its own limits
        sent = message.submit(
            events.chat, chat_inputs, [message, chatbot], api_name="chat", **generating
        )
        clicked = send.click(
            events.chat, chat_inputs, [message, chatbot], api_name=False, **generating
        )
        chat_stop.click(None, None, None, cancels=[sent, clicked], api_name=False)
        clear.click(lambda: [], None, chatbot, api_name=False, queue=False)
        completed = run.click(
            events.complete,
            [prompt, *controls],
            [completion, completion_footer],
            api_name="complete",
            **generating,
        )
        completion_stop.click(None, None, None, cancels=[completed], api_name=False)
    return blocks
