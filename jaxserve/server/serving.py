"""`/v1/completions` and `/v1/chat/completions`: parse, tokenize, enqueue, then stream or gather.

A call is accepted only once the engine thread has taken all its sequences, so a prompt that
is too long is a 400 even for a streaming call (no 200 header has gone out yet). From then on a
stream's `finally` aborts whatever has not finished: a client that disconnects frees its pages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from jaxserve.engine.structured import GrammarCompiler, GrammarError
from jaxserve.multimodal.media import MediaPolicy
from jaxserve.multimodal.processor import ProcessedPrompt, PromptProcessor
from jaxserve.sampling_params import StructuredOutputsParams
from jaxserve.server import responses
from jaxserve.server.async_engine import (
    AsyncEngine,
    EngineDeadError,
    GenerationFailed,
    OutputStream,
    RequestRejected,
    SequenceSpec,
)
from jaxserve.server.chat_images import process_images
from jaxserve.server.errors import (
    BadRequest,
    EngineError,
    NotFound,
    Overloaded,
    Unavailable,
)
from jaxserve.server.gather import gather
from jaxserve.server.messages import TemplateOptions
from jaxserve.server.protocol import (
    GenerationRequest,
    expand,
    parse_chat,
    parse_completion,
)
from jaxserve.server.reasoning import PARSERS
from jaxserve.server.served import ServedLimits
from jaxserve.server.sse_chunks import chat_chunks, completion_chunks, echo_scored
from jaxserve.server.tool_grammars import forcing_grammar
from jaxserve.server.tool_parsers import TOOL_PARSERS
from jaxserve.server.usage import choices_usage


class Prompt(NamedTuple):
    text: str | None
    token_ids: list[int]
    images: ProcessedPrompt | None = None  # a chat prompt's images; token_ids hold their runs


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Tool-call formats whose markers ([TOOL_CALLS], <|python_tag|>) are special tokens: their
# replies are decoded with special tokens kept, or the parser would never see a call begin.
SPECIAL_MARKERS = frozenset({"mistral", "llama3_json"})


class OpenAIServing:
    """The generation routes of one served model."""

    def __init__(
        self,
        engine: AsyncEngine,
        tokenizer: Any,
        *,
        model_name: str,
        vocab_size: int,
        max_model_len: int | None = None,
        priority_scheduling: bool = False,
        chat_template: str | None = None,
        reasoning_parser: str | None = None,
        tool_call_parser: str | None = None,
        grammars: GrammarCompiler | None = None,
        prompt_processor: PromptProcessor | None = None,
        media_policy: MediaPolicy | None = None,
        max_images_per_prompt: int | None = None,
    ):
        """`max_model_len` None: requests get no bound of their own (the engine's still holds).
        `prompt_processor`: a vision-language model's (chat requests may then hold images,
        read under `media_policy`, at most `max_images_per_prompt` a prompt)."""
        self.engine = engine
        self.max_images_per_prompt = max_images_per_prompt
        self.prompt_processor = prompt_processor
        self.media_policy = media_policy or MediaPolicy()
        self.tokenizer = tokenizer
        self.grammars = grammars  # compiles structured outputs before the engine sees them
        self.chat_template = chat_template  # the server's, over the model's
        self.reasoning = None if reasoning_parser is None else PARSERS[reasoning_parser]
        self.tool_format = None if tool_call_parser is None else TOOL_PARSERS[tool_call_parser]
        self.model_name = model_name
        self.vocab_size = vocab_size
        self.limits = ServedLimits(
            model_name,
            vocab_size,
            max_model_len or 2**31 - 1,
            priority_scheduling,
            tool_calls=self.tool_format is not None,
            images=prompt_processor is not None,
        )
        self.decode: Callable[[int], str] = functools.lru_cache(maxsize=1 << 16)(
            lambda token: tokenizer.decode([token], skip_special_tokens=False)
        )

    def check_model(self, model: str | None) -> None:
        if model is not None and model != self.model_name:
            raise NotFound(
                f"the model {model!r} does not exist; this server serves {self.model_name!r}",
                param="model",
                code="model_not_found",
            )

    async def completions(self, body: Any, request: Request) -> Response:
        parsed = parse_completion(body, limits=self.limits)
        self.check_model(parsed.model)
        prompts = self.completion_prompts(parsed)
        envelope = responses.Envelope(
            f"cmpl-{uuid.uuid4().hex}", "text_completion", self.model_name
        )
        stream = await self.submit(prompts, parsed)
        n = parsed.params.n
        echoes = [
            (text if text is not None else self.tokenizer.decode(ids)) if parsed.echo else ""
            for text, ids, _ in prompts
            for _ in range(n)
        ]
        num_prompt_tokens = sum(len(p.token_ids) for p in prompts)
        if parsed.stream:
            prompt_ids = [p.token_ids for p in prompts for _ in range(n)]
            return self._streaming(
                stream, completion_chunks(stream, envelope, parsed, echoes, prompt_ids, self.decode)
            )
        choices = await gather(stream, len(echoes), request)
        scored = echo_scored(parsed)
        return JSONResponse(
            envelope.body(
                [
                    responses.completion_choice(
                        c,
                        parsed.params.logprobs,
                        self.decode,
                        echoes[c.index],
                        prompt_ids=prompts[c.index // n][1] if scored else None,
                        prompt_logprobs=parsed.prompt_logprobs,
                    )
                    for c in choices
                ],
                usage=choices_usage(choices, num_prompt_tokens, n),
            )
        )

    async def chat(self, body: Any, request: Request) -> Response:
        parsed = self.with_tools(parse_chat(body, limits=self.limits))
        self.check_model(parsed.model)
        prompt = await self.render_chat(parsed)
        envelope = responses.Envelope(
            f"chatcmpl-{uuid.uuid4().hex}", "chat.completion", self.model_name
        )
        stream = await self.submit([prompt], parsed)
        n = parsed.params.n
        top = parsed.params.logprobs
        if parsed.stream:
            chunk_envelope = dataclasses.replace(envelope, object="chat.completion.chunk")
            return self._streaming(
                stream,
                chat_chunks(
                    stream,
                    chunk_envelope,
                    parsed,
                    n,
                    self.decode,
                    self.reasoning,
                    self.tool_format,
                ),
            )
        tool_format = self.tool_format if parsed.tools and parsed.tools.calls_possible else None
        parallel = parsed.tools is None or parsed.tools.parallel
        choices = await gather(stream, n, request)
        extra = {}
        if parsed.prompt_logprobs is not None:  # vLLM's: one list for the call's one prompt
            extra["prompt_logprobs"] = responses.prompt_logprobs_field(
                choices[0].prompt_logprobs, self.decode
            )
        return JSONResponse(
            envelope.body(
                [
                    responses.chat_choice(
                        c, top, self.decode, self.reasoning, tool_format, parallel_calls=parallel
                    )
                    for c in choices
                ],
                usage=choices_usage(choices, len(prompt[1]), n),
                **extra,
            )
        )

    def completion_prompts(self, parsed: GenerationRequest) -> list[Prompt]:
        """The prompts of a parsed completion request, each as (text, token ids)."""
        return [
            self._truncated(
                Prompt(p, self.tokenizer.encode(p)) if isinstance(p, str) else Prompt(None, p),
                parsed,
            )
            for p in parsed.prompts
        ]

    def _truncated(self, prompt: Prompt, parsed: GenerationRequest) -> Prompt:
        """`prompt` cut to its last `truncate_prompt_tokens` tokens (its text then goes: an
        echo decodes the tokens kept)."""
        budget = parsed.truncate_prompt_tokens
        if budget == -1:
            budget = self.limits.max_model_len - 1
        ids = prompt.token_ids
        if budget is None or len(ids) <= budget:
            return prompt
        if prompt.images is not None:
            raise BadRequest(
                "truncate_prompt_tokens cannot cut a prompt with images", param="messages"
            )
        return Prompt(None, ids[len(ids) - budget :])

    async def render_chat(self, parsed: GenerationRequest) -> Prompt:
        """The prompt of a parsed chat request: its messages through the chat template, with
        their images (fetched, decoded and processed) in place."""
        assert parsed.messages is not None
        tools = parsed.tools.tools if parsed.tools else None
        text = self.apply_template(parsed.messages, parsed.template, tools)
        # The template already holds any BOS token; encoding must not add another.
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if not parsed.image_urls:
            return self._truncated(Prompt(text, ids), parsed)
        images = await process_images(
            parsed.image_urls,
            ids,
            self.prompt_processor,
            self.media_policy,
            model_name=self.model_name,
            max_images=self.max_images_per_prompt,
        )
        return self._truncated(Prompt(text, images.token_ids, images), parsed)

    def apply_template(
        self,
        messages: list[dict[str, Any]],
        options: TemplateOptions,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """`messages` (and `tools`, for templates that show them) through the request's
        template, else the server's, else the model's."""
        template = options.chat_template or self.chat_template
        if template is None and getattr(self.tokenizer, "chat_template", None) is None:
            raise BadRequest("the model's tokenizer has no chat template; use /v1/completions")
        try:
            return self.tokenizer.apply_chat_template(
                messages,
                tokenize=False,
                add_generation_prompt=options.add_generation_prompt,
                continue_final_message=options.continue_final_message,
                chat_template=template,
                **({"tools": tools} if tools else {}),
                **options.kwargs,
            )
        except Exception as e:  # jinja2 raises many types; the template may `raise_exception`
            raise BadRequest(
                f"the chat template rejected the messages: {e}", param="messages"
            ) from None

    async def submit(self, prompts: list[Prompt], parsed: GenerationRequest) -> OutputStream:
        """Hands the prompts to the engine; returns once it took them, or raises the APIError
        that says why not (prompt too long, bad parameters, overloaded, engine gone)."""
        await self.compile_grammar(parsed)
        specs = [
            SequenceSpec(
                prompt.token_ids,
                p,
                prompt.text,
                priority=parsed.priority,
                cache_salt=parsed.cache_salt,
                images=prompt.images,
            )
            for prompt in prompts
            for p in expand(parsed.params)
        ]
        try:
            stream = self.engine.submit(specs)
        except OverflowError as e:
            raise Overloaded(str(e)) from None
        except EngineDeadError as e:
            raise (EngineError if self.engine.error else Unavailable)(str(e)) from None
        try:
            await stream.accepted()
        except RequestRejected as e:
            raise BadRequest(str(e), code=e.code) from None
        except EngineDeadError as e:
            raise EngineError(str(e)) from None
        except BaseException:
            stream.aclose()  # cancelled while waiting: the client left
            raise
        return stream

    def with_tools(self, parsed: GenerationRequest) -> GenerationRequest:
        """`parsed` with its tool use applied: a forced choice ("required" or a named
        function) becomes the grammar of the format's calls, and formats whose markers are
        special tokens keep them in the text the parser reads."""
        tools = parsed.tools
        if tools is None or not tools.calls_possible or self.tool_format is None:
            return parsed
        params = parsed.params
        if self.tool_format.name in SPECIAL_MARKERS:
            params = dataclasses.replace(params, skip_special_tokens=False)
        if tools.forced:
            if params.structured_outputs is not None:
                raise BadRequest(
                    f"tool_choice {tools.choice!r} forces the reply's form; it cannot be given "
                    "with response_format or structured_outputs",
                    param="tool_choice",
                )
            try:
                grammar = forcing_grammar(
                    self.tool_format,
                    tools.tools,
                    tools.choice if tools.named else None,
                    parallel=tools.parallel,
                )
            except ValueError as e:
                raise BadRequest(str(e), param="tools") from None
            params = dataclasses.replace(
                params, structured_outputs=StructuredOutputsParams(grammar=grammar)
            )
            parsed = dataclasses.replace(parsed, grammar_field="tools")
        return dataclasses.replace(parsed, params=params)

    async def compile_grammar(self, parsed: GenerationRequest) -> None:
        """Compiles the request's grammar in a worker thread, so that the engine thread finds
        it cached; a grammar that cannot compile is a 400 naming the field that sent it."""
        spec = parsed.params.structured_outputs
        if spec is None:
            return
        if self.grammars is None:
            raise BadRequest("this server has no grammar engine", param=parsed.grammar_field)
        try:
            await asyncio.to_thread(self.grammars.compile, spec)
        except GrammarError as e:
            raise BadRequest(str(e), param=parsed.grammar_field) from None

    def _streaming(self, stream: OutputStream, chunks: AsyncIterator[bytes]) -> Response:
        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks:
                    yield chunk
            except GenerationFailed as e:
                yield responses.sse(EngineError(str(e)).body())
            finally:
                stream.aclose()  # the client left (or the engine died): free the pages now
            yield responses.sse("[DONE]")

        return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)
