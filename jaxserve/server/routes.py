"""The routes besides generation: health, version, models, metrics, tokenize and detokenize."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

import jaxserve
from jaxserve.server.async_engine import AsyncEngine
from jaxserve.server.errors import BadRequest, PayloadTooLarge, Unavailable
from jaxserve.server.metrics import ServerMetrics
from jaxserve.server.protocol import (
    DetokenizeRequest,
    TokenizeChat,
    TokenizeCompletion,
    parse,
)
from jaxserve.server.serving import OpenAIServing

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def read_json(request: Request, limit: int) -> Any:
    """The JSON body, refused with 413 past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body has {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"the request body is not valid JSON: {e}") from None


class Routes:
    """Handlers bound to one served model."""

    def __init__(
        self,
        serving: OpenAIServing,
        engine: AsyncEngine,
        metrics: ServerMetrics,
        *,
        max_model_len: int,
        max_request_bytes: int,
        model_root: str,
    ):
        self.serving = serving
        self.engine = engine
        self.metrics = metrics
        self.max_model_len = max_model_len
        self.max_request_bytes = max_request_bytes
        self.model_root = model_root
        self.created = int(time.time())

    async def health(self, request: Request) -> Response:
        if self.engine.error is not None:
            raise Unavailable(self.engine.error, code="engine_dead")
        return JSONResponse({"status": "ok"})

    async def version(self, request: Request) -> Response:
        return JSONResponse({"version": jaxserve.__version__})

    async def models(self, request: Request) -> Response:
        card = {
            "id": self.serving.model_name,
            "object": "model",
            "created": self.created,
            "owned_by": "jaxserve",
            "root": self.model_root,
            "max_model_len": self.max_model_len,
        }
        return JSONResponse({"object": "list", "data": [card]})

    async def prometheus(self, request: Request) -> Response:
        return PlainTextResponse(self.metrics.render(), media_type=PROMETHEUS_TYPE)

    async def completions(self, request: Request) -> Response:
        body = await read_json(request, self.max_request_bytes)
        return await self.serving.completions(body, request)

    async def chat(self, request: Request) -> Response:
        body = await read_json(request, self.max_request_bytes)
        return await self.serving.chat(body, request)

    async def tokenize(self, request: Request) -> Response:
        """`{"prompt": str}` or `{"messages": [...]}` → token ids (vLLM's route)."""
        body = await read_json(request, self.max_request_bytes)
        limits = self.serving.limits
        tokenizer = self.serving.tokenizer
        if isinstance(body, dict) and "messages" in body:
            chat: TokenizeChat = parse(TokenizeChat, body, limits)
            self.serving.check_model(chat.model)
            messages = [m.for_template() for m in chat.messages]
            text = self.serving.apply_template(messages, chat.template_options())
            tokens = tokenizer.encode(text, add_special_tokens=bool(chat.add_special_tokens))
        else:
            text_request: TokenizeCompletion = parse(TokenizeCompletion, body, limits)
            self.serving.check_model(text_request.model)
            tokens = tokenizer.encode(
                text_request.prompt, add_special_tokens=text_request.add_special_tokens is not False
            )
        return JSONResponse(
            {"count": len(tokens), "max_model_len": self.max_model_len, "tokens": tokens}
        )

    async def detokenize(self, request: Request) -> Response:
        body = await read_json(request, self.max_request_bytes)
        parsed: DetokenizeRequest = parse(DetokenizeRequest, body, self.serving.limits)
        self.serving.check_model(parsed.model)
        return JSONResponse({"prompt": self.serving.tokenizer.decode(parsed.tokens)})
