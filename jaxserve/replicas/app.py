"""`create_front_app`: one OpenAI endpoint in front of N replica servers; `serve_replicas` runs it.

The front owns no engine. A request is read whole, keyed by its prompt's prefix, sent by the
`Router` to a replica and forwarded there with httpx; the answer comes back as it came (a JSON
reply whole, a stream event by event). A replica whose connection fails before the front has
sent the client anything is marked down and the request goes to another one (after waiting for
one to come back when none is up), so a crash loses no request that had not started streaming;
a stream cut after its first event ends with an OpenAI-style error event and `[DONE]`.

Two kinds of background task run on the app's event loop: a monitor that polls every replica's
`/health` (a replica that dies idle is noticed too), and one recovery per down replica, which
asks the pool for the replica's new address (Ray restarts the actor on a new port) and routes
to it again once its `/health` answers 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from jaxserve.replicas.metrics import front_lines, merge_expositions
from jaxserve.replicas.router import NoReplicaError, Router, prefix_hashes, prompt_text
from jaxserve.server.config import ServerConfig
from jaxserve.server.errors import Unavailable
from jaxserve.server.responses import sse

logger = logging.getLogger(__name__)

GENERATION_PATHS = ("/v1/completions", "/v1/chat/completions")
MAX_ATTEMPTS = 3  # a request that brings down every replica it meets is not retried forever
# Hop-by-hop and framing headers: the front re-frames what it relays.
UNRELAYED = frozenset({"connection", "content-length", "transfer-encoding", "date", "server"})


class ReplicaPool(Protocol):
    """Where the replicas are: `urls[i]` serves replica i; `restart(i)` replaces its process,
    and `recover(i)` waits out a restart and returns the new URL."""

    urls: list[str]

    def restart(self, index: int) -> None: ...

    async def recover(self, index: int) -> str: ...


class _ReplicaFailed(Exception):
    """The replica's connection failed before anything reached the client."""


class Front:
    """Routes, forwards and relays requests to the replicas of `pool`; see the module story.

    Args:
        pool: the replicas.
        routing: "prefix" or "round_robin".
        batch_size: requests a replica runs at once (`max_num_seqs`), for the load bound.
        health_interval: seconds between two health polls of every replica.
        retry_timeout: seconds a request waits for some replica to be up.
    """

    def __init__(
        self,
        pool: ReplicaPool,
        *,
        routing: str = "prefix",
        batch_size: int = 1,
        health_interval: float = 1.0,
        retry_timeout: float = 300.0,
    ):
        self.pool = pool
        self.router = Router(len(pool.urls), routing, batch_size=batch_size)
        self.health_interval = health_interval
        self.retry_timeout = retry_timeout
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._recovering: set[int] = set()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("the front has not started")
        return self._client

    async def start(self) -> None:
        """Opens the connection pool and starts the health monitor (on the app's loop)."""
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10.0), limits=limits)
        self._spawn(self._monitor())

    async def stop(self) -> None:
        """Cancels the background tasks and closes the connections."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def mark_down(self, index: int, reason: str) -> None:
        """Stops routing to replica `index` until it is healthy again."""
        self.router.set_up(index, False)
        if index in self._recovering:
            return
        logger.warning("replica %d (%s) is down: %s", index, self.pool.urls[index], reason)
        self._recovering.add(index)
        self._spawn(self._recover(index))

    async def _recover(self, index: int) -> None:
        try:
            while True:
                try:
                    url = await self.pool.recover(index)
                    if await self._healthy(url):
                        break
                except Exception as e:  # Ray may still be restarting it: ask again
                    logger.warning("replica %d not back yet: %s", index, e)
                await asyncio.sleep(0.5)
            self.router.set_up(index, True)
            logger.info("replica %d is back at %s", index, url)
        finally:
            self._recovering.discard(index)

    async def _healthy(self, url: str) -> bool:
        try:
            response = await self.client.get(f"{url}/health", timeout=5.0)
        except httpx.TransportError:
            return False
        return response.status_code == 200

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            for index, url in enumerate(self.pool.urls):
                if self.router.up[index]:
                    await self._check(index, url)

    async def _check(self, index: int, url: str) -> None:
        try:
            response = await self.client.get(f"{url}/health", timeout=5.0)
        except httpx.TransportError:
            self.mark_down(index, "its /health does not answer")
            return
        if response.status_code == 503 and _error_code(response) == "engine_dead":
            # The process lives on but its engine thread died: only a new process serves.
            self.mark_down(index, "its engine died; restarting it")
            self.pool.restart(index)

    async def proxy(self, request: Request) -> Response:
        """Forwards `request` to a replica, retrying on another while nothing was relayed."""
        body = await request.body()
        hashes: list[bytes] = []
        if self.router.policy == "prefix" and request.url.path in GENERATION_PATHS:
            with contextlib.suppress(ValueError):  # not JSON: the replica answers the 400
                hashes = prefix_hashes(prompt_text(json.loads(body)))
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        deadline = time.monotonic() + self.retry_timeout
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                replica = await self._pick(hashes, deadline)
            except NoReplicaError:
                return Unavailable(f"no replica came up in {self.retry_timeout:g} s").response()
            try:
                return await self._attempt(replica, request.method, path, body, headers)
            except _ReplicaFailed as e:
                self.mark_down(replica, str(e) or type(e.__cause__).__name__)
                logger.info("retrying %s (attempt %d failed on replica %d)", path, attempt, replica)
        return Unavailable(f"the request failed on {MAX_ATTEMPTS} replicas").response()

    async def _pick(self, hashes: list[bytes], deadline: float) -> int:
        while True:
            try:
                return self.router.pick(hashes)
            except NoReplicaError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)

    async def _attempt(
        self, replica: int, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> Response:
        """One try on `replica`; raises `_ReplicaFailed` while nothing has been relayed."""
        url = self.pool.urls[replica] + path
        upstream_request = self.client.build_request(method, url, content=body, headers=headers)
        try:
            upstream = await self.client.send(upstream_request, stream=True)
        except httpx.TransportError as e:
            self.router.release(replica)
            raise _ReplicaFailed(str(e)) from e
        relayed = {k: v for k, v in upstream.headers.items() if k not in UNRELAYED}
        if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                content = await upstream.aread()
            except httpx.TransportError as e:
                raise _ReplicaFailed(str(e)) from e
            finally:
                await upstream.aclose()
                self.router.release(replica)
            relayed.pop("content-encoding", None)  # httpx has decoded it
            return Response(content, upstream.status_code, headers=relayed)
        events = _sse_events(upstream.aiter_raw())
        try:
            first = await anext(events, b"")
        except httpx.TransportError as e:
            await upstream.aclose()
            self.router.release(replica)
            raise _ReplicaFailed(str(e)) from e

        async def close() -> None:
            await upstream.aclose()
            self.router.release(replica)

        relay = self._relay(replica, first, events)
        return _RelayedStream(relay, upstream.status_code, headers=relayed, on_close=close)

    async def _relay(
        self, replica: int, first: bytes, events: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        try:
            yield first
            async for event in events:
                yield event
        except httpx.TransportError as e:
            self.mark_down(replica, f"its stream broke: {e}")
            message = f"replica {replica} failed while streaming this answer: {e}"
            yield sse(Unavailable(message, code="replica_failed").body())
            yield sse("[DONE]")

    async def health(self, request: Request) -> Response:
        """200 while some replica serves, else 503; the state of each replica either way."""
        states = [
            {
                "replica": i,
                "url": url,
                "state": "up" if self.router.up[i] else "restarting",
                "in_flight": self.router.in_flight[i],
            }
            for i, url in enumerate(self.pool.urls)
        ]
        status = "ok" if any(self.router.up) else "unavailable"
        body = {"status": status, "routing": self.router.policy, "replicas": states}
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    async def metrics(self, request: Request) -> Response:
        """Every replica's metrics labelled by replica, and the front's own gauges."""

        async def scrape(url: str) -> str | None:
            try:
                response = await self.client.get(f"{url}/metrics", timeout=10.0)
            except httpx.TransportError:
                return None
            return response.text if response.status_code == 200 else None

        texts = await asyncio.gather(*(scrape(url) for url in self.pool.urls))
        text = merge_expositions(texts) + front_lines(self.router.up, self.router.in_flight)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


class _RelayedStream(StreamingResponse):
    """A relayed stream that closes its upstream and frees its replica's slot however it ends,
    a client that leaves before the first byte included (its body never starts then)."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        status_code: int,
        *,
        headers: dict[str, str],
        on_close: Callable[[], Awaitable[None]],
    ):
        super().__init__(content, status_code, headers=headers)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._on_close()


def _error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


async def _sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Whole Server-Sent Events out of arbitrary chunks, so a cut never splits an event."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            yield event + b"\n\n"
    if buffer:
        yield buffer


def create_front_app(pool: ReplicaPool, config: ServerConfig, **front_options: Any) -> Starlette:
    """The front's app over `pool`, routing as `config.routing` says.

    Generation and the other API routes are forwarded (the replicas check the API key);
    `/health` and `/metrics` are the front's own. `front_options` go to `Front`.
    """
    front = Front(pool, routing=config.routing, batch_size=config.max_num_seqs, **front_options)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await front.start()
        yield
        await front.stop()

    forwarded = [
        Route("/v1/completions", front.proxy, methods=["POST"]),
        Route("/v1/chat/completions", front.proxy, methods=["POST"]),
        Route("/v1/models", front.proxy, methods=["GET"]),
        Route("/tokenize", front.proxy, methods=["POST"]),
        Route("/detokenize", front.proxy, methods=["POST"]),
        Route("/version", front.proxy, methods=["GET"]),
        Route("/openapi.json", front.proxy, methods=["GET"]),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-Id"],
    )
    app = Starlette(
        routes=[
            Route("/health", front.health, methods=["GET"]),
            Route("/metrics", front.metrics, methods=["GET"]),
            *forwarded,
        ],
        middleware=[cors],
        lifespan=lifespan,
    )
    app.state.front = front
    return app


def serve_replicas(config: ServerConfig, *, llm_options: dict[str, Any] | None = None) -> int:
    """`jaxserve run` with `replicas > 1`: replicas on Ray and the front on the config's port.

    Joins the Ray cluster at `RAY_ADDRESS` when set (or one already initialised), else starts
    a local one; returns the process's exit status.
    """
    from jaxserve.replicas.actors import ReplicaSet, require_ray
    from jaxserve.server.app import uvicorn_server

    ray = require_ray()
    # httpx logs each request at INFO: the front's health polls would fill the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(include_dashboard=False)
    try:
        pool = ReplicaSet(config, llm_options=llm_options)
        try:
            server = uvicorn_server(create_front_app(pool, config), config)
            server.run()
            return 0 if server.started else 1
        finally:
            pool.shutdown()
    finally:
        if started_ray:
            ray.shutdown()
