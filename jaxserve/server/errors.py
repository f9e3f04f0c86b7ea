"""HTTP errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

Routes raise `APIError` (or its named subclasses) and one exception handler renders it, so
every failure a client sees, from a bad field to a dead engine, has the same body.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class APIError(Exception):
    """An error answered with `status`; `param` names the request field at fault."""

    status = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self, headers: Mapping[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


class BadRequest(APIError):
    status = 400


class Unauthorized(APIError):
    status = 401
    code = "invalid_api_key"


class NotFound(APIError):
    status = 404
    code = "not_found"


class MethodNotAllowed(APIError):
    status = 405
    code = "method_not_allowed"


class PayloadTooLarge(APIError):
    status = 413
    code = "request_too_large"


class EngineError(APIError):
    """The engine failed while serving the request (its thread died)."""

    status = 500
    type = "server_error"
    code = "engine_error"


class Overloaded(APIError):
    status = 503
    type = "server_error"
    code = "overloaded"


class Unavailable(APIError):
    """The server cannot serve at all now (engine dead, or shutting down)."""

    status = 503
    type = "server_error"
    code = "unavailable"


class ClientDisconnected(APIError):
    """The client left before the answer was ready; nobody reads this response."""

    status = 499
    code = "client_closed_request"
