"""ASGI middleware: the request id header and the Bearer API key on `/v1/*`.

Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which would buffer and wrap every
streamed response; these only look at the request headers and the response start.
"""

from __future__ import annotations

import hmac
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jaxserve.server.errors import Unauthorized

REQUEST_ID_HEADER = "x-request-id"


class RequestIdMiddleware:
    """Echoes the client's `X-Request-Id`, or makes one, on every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class ApiKeyMiddleware:
    """Answers 401 on `/v1/*` unless `Authorization: Bearer <api_key>` matches."""

    def __init__(self, app: ASGIApp, api_key: str | None):
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.api_key is not None
            and scope["method"] != "OPTIONS"
            and (scope["path"] == "/v1" or scope["path"].startswith("/v1/"))
        ):
            header = Headers(scope=scope).get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), self.api_key.encode()
            ):
                error = Unauthorized(
                    "missing or wrong API key: send 'Authorization: Bearer <api_key>'"
                )
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)
