"""The login gate in front of every route, and the routes `/login`, `/logout`, `/login_check`.

With auth on, a request passes the gate only with a live session cookie (or when the auth
dependency names a user), or when its path is on the short OPEN list: login, logout, the login
check, and what the login page loads (the static modules and the theme). Everything else,
routes added later included, answers 401 with `auth_required`; the page at `/` answers with the
login page, whose modules find that 401 on `/config` and show the form. As in Gradio,
`POST /login` takes a form (`username`, `password`) and answers `{"success": true}` with the
session cookie, or 400 "Incorrect credentials."; `GET /logout` ends the user's sessions.
"""

from __future__ import annotations

import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocketClose

from webui.auth import AuthSettings, Sessions
from webui.page import NO_CACHE, login_page_html
from webui.urls import API_PREFIX

if TYPE_CHECKING:
    from webui.root import Root

OPEN_PATHS = frozenset(
    {
        "/login",
        "/login/",
        "/logout",
        "/logout/",
        f"{API_PREFIX}/login_check",
        f"{API_PREFIX}/login_check/",
        "/theme.css",
        f"{API_PREFIX}/theme.css",
    }
)
OPEN_PREFIXES = ("/static/",)  # webui's own modules and CSS, the same for every app
PAGE_PATHS = frozenset({"", "/"})
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 20


def route_path(scope: dict[str, Any]) -> str:
    """The path the app's router matches: the request's path below the app's mount point."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def is_open(path: str) -> bool:
    """Whether `path` is served without a session (a static module path never climbs out)."""
    if path in OPEN_PATHS:
        return True
    return path.startswith(OPEN_PREFIXES) and ".." not in path.split("/")


def not_authenticated(settings: AuthSettings) -> JSONResponse:
    """Gradio's 401 body for a request without a session, plus `auth_required` for pages."""
    detail = {"error": "Not authenticated", "auth_message": settings.message}
    return JSONResponse({"detail": detail, "auth_required": True}, status_code=401)


def _secure(connection: HTTPConnection) -> bool:
    return connection.url.scheme in ("https", "wss")


def _app_root(connection: HTTPConnection) -> str:
    return f"{connection.scope.get('root_path', '').rstrip('/')}/"


class AuthGate:
    """Pure ASGI middleware: the one place that decides whether a request needs a session."""

    def __init__(self, app: Any, blocks: Root, sessions: Sessions):
        self.app = app
        self.blocks = blocks
        self.sessions = sessions

    def _is_page(self, path: str) -> bool:
        """`/`, or the path of one of the app's pages (demo.route): shown the login form."""
        return path in PAGE_PATHS or path.lstrip("/") in self.blocks.pages.paths()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        settings = self.blocks.auth  # read per request: launch() may set it after the app
        if settings is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        connection = HTTPConnection(scope)
        if is_open(path) or await settings.user_of(connection, self.sessions) is not None:
            await self.app(scope, receive, send)
            return
        refusal: Any
        if scope["type"] == "websocket":
            refusal = WebSocketClose(code=1008)  # policy violation
        elif self._is_page(path) and scope["method"] in ("GET", "HEAD"):
            if settings.dependency is not None:  # the login happens elsewhere (a proxy)
                refusal = HTMLResponse("<p>Not authenticated.</p>", 401, headers=NO_CACHE)
            else:
                refusal = HTMLResponse(login_page_html(self.blocks), headers=NO_CACHE)
        else:
            refusal = not_authenticated(settings)
        await refusal(scope, receive, send)


class LoginFormError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _multipart_fields(content_type: str, body: bytes) -> dict[str, str]:
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise LoginFormError(400, "the multipart login form could not be parsed")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    return fields


async def read_login_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded or multipart login form, as Gradio's login accepts both.

    Raises:
        LoginFormError: the body is too large, of another type, or not a form.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise LoginFormError(413, f"a login form is at most {MAX_FORM_BYTES} bytes")
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = urllib.parse.parse_qsl(
                bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as e:
            raise LoginFormError(400, f"the login form could not be parsed: {e}") from None
        return dict(reversed(pairs))  # the first of repeated fields wins
    if kind == "multipart/form-data":
        return _multipart_fields(content_type, bytes(body))
    raise LoginFormError(
        415, "send the login form as application/x-www-form-urlencoded or multipart/form-data"
    )


class AuthRoutes:
    """Login, logout and the login check for one app and its sessions."""

    def __init__(self, blocks: Root, sessions: Sessions):
        self.blocks = blocks
        self.sessions = sessions

    def _set_cookie(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.sessions.cookie_name,
            token,
            path="/",
            httponly=True,  # page scripts never see it
            samesite="lax",  # other sites' requests (CSRF) go without it
            secure=_secure(request),
        )

    async def login(self, request: Request) -> Response:
        settings = self.blocks.auth
        if settings is None or settings.dependency is not None:
            return RedirectResponse(_app_root(request), status_code=302)  # as Gradio does
        try:
            form = await read_login_form(request)
        except LoginFormError as e:
            return JSONResponse({"detail": e.detail}, status_code=e.status)
        username, password = form.get("username"), form.get("password")
        if username is None or password is None:
            detail = "the login form needs the fields 'username' and 'password'"
            return JSONResponse({"detail": detail}, status_code=422)
        username = username.strip()
        if not await settings.verify(username, password):
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=400)
        # A fresh token at every login: a token planted before it (fixation) is worth nothing.
        self.sessions.end(request.cookies.get(self.sessions.cookie_name))
        response = JSONResponse({"success": True})
        self._set_cookie(request, response, self.sessions.start(username))
        return response

    async def logout(self, request: Request) -> Response:
        """End the user's sessions (only this one with `?all_session=false`), then go home."""
        token = request.cookies.get(self.sessions.cookie_name)
        user = self.sessions.user(token)
        if user is not None and request.query_params.get("all_session", "").lower() != "false":
            self.sessions.end_user(user)
        else:
            self.sessions.end(token)
        response = RedirectResponse(_app_root(request), status_code=302)
        response.delete_cookie(
            self.sessions.cookie_name,
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        return response

    async def login_check(self, request: Request) -> Response:
        settings = self.blocks.auth
        if settings is None or await settings.user_of(request, self.sessions) is not None:
            return JSONResponse(None)
        return not_authenticated(settings)


def auth_routes(blocks: Root, sessions: Sessions) -> list[Route]:
    """The login routes; they exist with auth off too, where login redirects as in Gradio."""
    routes = AuthRoutes(blocks, sessions)
    return [
        Route("/login", routes.login, methods=["POST"]),
        Route("/login/", routes.login, methods=["POST"]),
        Route("/logout", routes.logout, methods=["GET", "POST"]),
        Route("/logout/", routes.logout, methods=["GET", "POST"]),
        Route(f"{API_PREFIX}/login_check", routes.login_check),
        Route(f"{API_PREFIX}/login_check/", routes.login_check),
    ]
