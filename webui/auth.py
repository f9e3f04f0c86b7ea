"""Who may use an app launched with `auth=`: the accounts or check, and the logged-in sessions.

`launch(auth=...)` takes what Gradio takes: a `(username, password)` tuple, a list of them, or a
callable `(username, password) -> bool`; `auth_dependency` instead names the user of a request
(a proxy's header, say) and replaces the login form. A login starts a session: a random token in
an HttpOnly cookie, mapped to the username in this process's memory, the least recently used
dropped past `SESSION_LIMIT`. `webui.auth_routes` holds the gate every request passes.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

AuthCheck = Callable[[str, str], bool | Awaitable[bool]]
AuthDependency = Callable[[HTTPConnection], str | Awaitable[str | None] | None]
Accounts = tuple[str, str] | list[tuple[str, str]] | AuthCheck

SESSION_LIMIT = 10_000
_AUTH_FORMS = "a (username, password) tuple, a list of them, or a callable (username, password)"


def _digest(password: str) -> bytes:
    # Fixed-length digests: compare_digest then takes the same time whatever the lengths.
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()


def _account(entry: object) -> tuple[str, str] | None:
    if isinstance(entry, tuple | list) and len(entry) == 2:
        username, password = entry
        if isinstance(username, str) and isinstance(password, str):
            return username, password
    return None


def _accounts(auth: tuple[str, str] | list[tuple[str, str]]) -> dict[str, bytes]:
    single = _account(auth)
    entries = [single] if single is not None else [_account(entry) for entry in auth]
    if not entries:
        raise ValueError("launch(auth=[]) lists no accounts, so no one could log in")
    accounts: dict[str, bytes] = {}
    for position, entry in enumerate(entries):
        if entry is None:
            raise TypeError(
                f"launch(auth=...) entry {position} is {list(auth)[position]!r}; each account "
                "must be a (username, password) tuple of two strings"
            )
        username, password = entry
        if username.strip() != username:
            # The login route strips the username, as Gradio's does: this one could never match.
            raise ValueError(f"launch(auth=...) username {username!r} has spaces around it")
        if username in accounts:
            raise ValueError(f"launch(auth=...) lists the username {username!r} twice")
        accounts[username] = _digest(password)
    return accounts


@dataclass(frozen=True, eq=False)
class AuthSettings:
    """The credentials launch() was given; `None` fields are unused."""

    accounts: Mapping[str, bytes] | None = None  # username -> sha256 of the password
    check: AuthCheck | None = None
    dependency: AuthDependency | None = None
    message: str | None = None
    _dummy: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @classmethod
    def from_launch(
        cls,
        auth: Accounts | None,
        auth_message: str | None = None,
        auth_dependency: AuthDependency | None = None,
    ) -> AuthSettings | None:
        """Validated settings from launch()'s arguments; None when neither auth is given.

        Raises:
            TypeError: an argument is not of a form Gradio accepts.
            ValueError: both `auth` and `auth_dependency`, or an unusable account list.
        """
        if auth_message is not None and not isinstance(auth_message, str):
            raise TypeError(f"launch(auth_message=...) must be a str, not {type(auth_message)}")
        if auth_dependency is not None:
            if not callable(auth_dependency):
                raise TypeError(
                    "launch(auth_dependency=...) must be a callable taking the request and "
                    f"returning the username or None, not {type(auth_dependency).__name__}"
                )
            if auth is not None:
                raise ValueError(
                    "pass launch() either auth= or auth_dependency=, not both: with a "
                    "dependency naming the user, the passwords in auth= would never be asked"
                )
            return cls(dependency=auth_dependency, message=auth_message)
        if auth is None:
            return None
        if callable(auth):
            return cls(check=auth, message=auth_message)
        if isinstance(auth, tuple | list):
            return cls(accounts=MappingProxyType(_accounts(auth)), message=auth_message)
        raise TypeError(f"launch(auth=...) takes {_AUTH_FORMS} -> bool, not {type(auth).__name__}")

    def same_as(self, other: AuthSettings | None) -> bool:
        """Whether `other` lets in the same users, so existing sessions may stay."""
        return (
            other is not None
            and dict(self.accounts or {}) == dict(other.accounts or {})
            and self.check is other.check
            and self.dependency is other.dependency
        )

    async def verify(self, username: str, password: str) -> bool:
        """Whether the login form's credentials are valid (never true with a dependency).

        Raises:
            TypeError: the auth callable returned something other than a bool or None.
        """
        if self.accounts is not None:
            expected = self.accounts.get(username)
            # An unknown user is compared too, so timing tells nothing about which names exist.
            matched = hmac.compare_digest(_digest(password), expected or self._dummy)
            return matched and expected is not None
        if self.check is None:
            return False
        if inspect.iscoroutinefunction(self.check):
            result = await self.check(username, password)
        else:  # a sync check may query a database: keep it off the event loop
            result = await run_in_threadpool(self.check, username, password)
            if inspect.isawaitable(result):
                result = await result
        if result is not None and not isinstance(result, bool):
            raise TypeError(
                f"the launch(auth=...) callable returned {type(result).__name__}; it must "
                "return True to let the user in, False (or None) to refuse"
            )
        return bool(result)

    async def user_of(self, connection: HTTPConnection, sessions: Sessions) -> str | None:
        """The user making this request, or None when it is not logged in."""
        if self.dependency is not None:
            user = self.dependency(connection)
            if inspect.isawaitable(user):
                user = await user
            return None if user is None else str(user)
        return sessions.user(connection.cookies.get(sessions.cookie_name))


class Sessions:
    """Logged-in sessions of one app: token -> username, least recently used dropped first."""

    def __init__(self, limit: int = SESSION_LIMIT):
        if limit < 1:
            raise ValueError(f"a session limit must be positive: {limit}")
        self.limit = limit
        # Per app, so apps on one host (cookies ignore ports) never read each other's cookie.
        self.cookie_name = f"access-token-{secrets.token_urlsafe(8)}"
        self._users: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._users)

    def start(self, username: str) -> str:
        """A new session's token."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._users[token] = username
            while len(self._users) > self.limit:
                self._users.popitem(last=False)
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            username = self._users.get(token)
            if username is not None:
                self._users.move_to_end(token)
            return username

    def end(self, token: str | None) -> None:
        with self._lock:
            self._users.pop(token or "", None)

    def end_user(self, username: str) -> None:
        """End every session of `username` (Gradio's logout does, on all devices)."""
        with self._lock:
            for token in [t for t, user in self._users.items() if user == username]:
                del self._users[token]

    def clear(self) -> None:
        with self._lock:
            self._users.clear()
