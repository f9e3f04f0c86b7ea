"""`create_app`: the Starlette application of one served model, and `serve` to run it on uvicorn.

The app owns an `AsyncEngine` whose thread starts with the app's lifespan and stops after it.
With `webui` on, the playground of `jaxserve.ui` answers every path the API does not take, so
the page is at `/`; with an API key it asks for a login whose password is that key.
On SIGTERM uvicorn stops accepting connections and waits up to `drain_timeout` seconds for the
open ones (streams included) to finish; whatever is still running then is cancelled, which
aborts its requests, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from jaxserve.server.async_engine import AsyncEngine
from jaxserve.server.config import ServerConfig
from jaxserve.server.errors import APIError, EngineError, MethodNotAllowed, NotFound
from jaxserve.server.metrics import ServerMetrics
from jaxserve.server.middleware import ApiKeyMiddleware, RequestIdMiddleware
from jaxserve.server.openapi import openapi_document
from jaxserve.server.routes import Routes
from jaxserve.server.serving import OpenAIServing

if TYPE_CHECKING:
    import webui as gr
    from jaxserve.llm import LLM

logger = logging.getLogger(__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)  # registered for APIError only
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return NotFound(f"no route {request.method} {request.url.path}").response()
    if exc.status_code == 405:  # Starlette's exception carries the route's `Allow` header
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        return MethodNotAllowed(message).response(exc.headers)
    return APIError(str(exc.detail), code=str(exc.status_code)).response(exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return EngineError(f"internal server error: {type(exc).__name__}: {exc}").response()


def create_app(llm: LLM, config: ServerConfig) -> Starlette:
    """The API of `llm` as `config` describes it (the LLM is built already)."""
    if llm.tokenizer is None:
        raise ValueError("the server needs the model's tokenizer; build the LLM with one")
    metrics = ServerMetrics(config.model_name)
    engine = AsyncEngine(llm.engine, metrics, max_waiting_requests=config.max_waiting_requests)
    serving = OpenAIServing(
        engine,
        llm.tokenizer,
        model_name=config.model_name,
        vocab_size=llm.config.vocab_size,
        max_model_len=llm.engine.max_model_len,
        priority_scheduling=llm.engine.scheduler.policy == "priority",
        chat_template=config.chat_template,
        reasoning_parser=config.reasoning_parser,
        tool_call_parser=config.tool_call_parser,
        grammars=llm.engine.grammars,
        prompt_processor=llm.prompt_processor,
        media_policy=config.media_policy(),
        max_images_per_prompt=config.max_images_per_prompt,
    )
    routes = Routes(
        serving,
        engine,
        metrics,
        max_model_len=llm.engine.max_model_len,
        max_request_bytes=config.max_request_bytes,
        model_root=config.model,
    )
    document = openapi_document(serving.limits, secured=config.resolved_api_key is not None)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine.start()
        yield
        await asyncio.to_thread(engine.stop)

    app = Starlette(
        routes=[
            Route("/health", routes.health, methods=["GET"]),
            Route("/version", routes.version, methods=["GET"]),
            Route("/metrics", routes.prometheus, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/v1/models", routes.models, methods=["GET"]),
            Route("/v1/completions", routes.completions, methods=["POST"]),
            Route("/v1/chat/completions", routes.chat, methods=["POST"]),
            Route("/tokenize", routes.tokenize, methods=["POST"]),
            Route("/detokenize", routes.detokenize, methods=["POST"]),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=config.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["X-Request-Id"],
            ),
            Middleware(ApiKeyMiddleware, api_key=config.resolved_api_key),
        ],
        exception_handlers={
            APIError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.before_drain = []
    app.state.playground = False
    if config.webui:
        from jaxserve.ui.dashboard import Dashboard, system_markdown
        from jaxserve.ui.playground import playground

        dashboard = Dashboard(metrics, system_markdown(llm))
        blocks = playground(serving, max_model_len=llm.engine.max_model_len, dashboard=dashboard)
        _serve_pages(app, _login_with_key(blocks, config.resolved_api_key))
        app.state.playground = True
        # Open page streams (heartbeats) would otherwise hold the drain to its timeout.
        app.state.before_drain.append(blocks.app.state.webui.stop_streams)
    return app


def _login_with_key(blocks: gr.Blocks, api_key: str | None) -> ASGIApp:
    """The pages' app; behind a login whose password is the API key when there is one (the
    pages generate in-process, so they must ask for what the API asks for)."""
    if api_key is None:
        return blocks.app
    import webui as gr

    def check(username: str, password: str) -> bool:
        return hmac.compare_digest(password.encode(), api_key.encode())

    message = "This server has an API key: log in with it as the password (any user name)."
    return gr.mount_gradio_app(Starlette(), blocks, "/", auth=check, auth_message=message)


def _serve_pages(app: Starlette, pages: ASGIApp) -> None:
    """Mounts `pages` at `/` beneath the API: a path no API route takes goes to the pages.

    The API keeps its own answers: a wrong method on an API route is still its 405, and an
    unknown path under `/v1` its JSON 404.
    """
    api_not_found = app.router.default

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == "/v1" or path.startswith("/v1/"):
            await api_not_found(scope, receive, send)
        else:
            await pages(scope, receive, send)

    app.router.default = route


class _Server(uvicorn.Server):
    """uvicorn re-raises a caught SIGTERM after its graceful shutdown, which would end the
    process with status 143; a drained shutdown is a success, so exit normally instead."""

    def __init__(self, config: uvicorn.Config, model_name: str):
        super().__init__(config)
        self.model_name = model_name

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for hook in getattr(getattr(self.config.app, "state", None), "before_drain", []):
            hook()
        await super().shutdown(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # the real port, also when the config asked for any free one (0)
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            pages = getattr(getattr(self.config.app, "state", None), "playground", False)
            logger.info(
                "serving %r at http://%s:%d (OpenAI API under /v1, schema at /openapi.json%s)",
                self.model_name,
                host,
                port,
                ", playground at /" if pages else "",
            )

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only (tests run servers in threads)
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def uvicorn_server(app: Starlette, config: ServerConfig) -> uvicorn.Server:
    """A uvicorn server for `app`; `run()` it from the main thread, or `serve()` elsewhere."""
    settings = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        timeout_graceful_shutdown=math.ceil(config.drain_timeout),
        lifespan="on",
    )
    return _Server(settings, config.model_name)
