"""Gradio's launch environment (GRADIO_SERVER_PORT, GRADIO_SERVER_NAME, ...), read by launch().

As in Gradio, a `launch()` argument wins over its variable, and a variable over the default.
Unlike Gradio they are read when `launch()` runs, not when the library is imported, so a
variable set after `import webui` counts. Accepted with nothing to do: GRADIO_ANALYTICS_ENABLED
(webui sends no analytics) and GRADIO_SSR_MODE (the page renders in the browser).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SERVER_NAME = "127.0.0.1"
DEFAULT_FIRST_PORT = 7860
DEFAULT_NUM_PORTS = 100


@dataclass(frozen=True, kw_only=True)
class LaunchSettings:
    """Where and how launch() serves, after arguments and environment are combined.

    Attributes:
        server_name: the address to bind (IPv6 without brackets).
        ports: the ports to try in order; one when `server_port` was given.
        root_path: the URL prefix the app is served under behind a proxy ("" for none).
        allowed_paths: extra paths that may be served, or None to leave the setting as is.
        blocked_paths: paths never served, or None to leave the setting as is.
        debug: block the main thread even with `prevent_thread_lock=True`.
        share_refused: a share link was asked for; launch() says it makes none.
    """

    server_name: str
    ports: tuple[int, ...]
    root_path: str = ""
    allowed_paths: list[str] | None = None
    blocked_paths: list[str] | None = None
    debug: bool = False
    share_refused: bool = False


# What launch() prints when asked for a share link, where Gradio prints that it could not make one.
SHARE_REFUSED = (
    "* webui makes no public share links (share=True or GRADIO_SHARE): this app is served on "
    "the local URL only. To reach it from elsewhere, serve on all interfaces "
    "(server_name='0.0.0.0') behind your own proxy or tunnel."
)


def _int_variable(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {text!r}")
    return value


def _path_list(environ: Mapping[str, str], name: str) -> list[str] | None:
    """A comma-separated list of paths, as Gradio reads GRADIO_ALLOWED_PATHS."""
    text = environ.get(name, "")
    return [item.strip() for item in text.split(",")] if text else None


def resolve_launch(
    *,
    server_name: str | None = None,
    server_port: int | None = None,
    root_path: str | None = None,
    allowed_paths: list[str] | None = None,
    blocked_paths: list[str] | None = None,
    share: bool | None = None,
    debug: bool = False,
    environ: Mapping[str, str] | None = None,
) -> LaunchSettings:
    """Combine launch()'s arguments with Gradio's variables (default: `os.environ`).

    GRADIO_SERVER_PORT is the first port tried, then the next GRADIO_NUM_PORTS - 1 (default
    7860 and 100); an explicit `server_port` is the only one tried. GRADIO_SHARE=true asks for
    a share link, which webui does not make (it never reaches outside the machine): as Gradio
    does when it cannot make one, launch() says so and serves locally (`share_refused`).
    GRADIO_DEBUG=1 blocks like `debug=True`.
    """
    env = os.environ if environ is None else environ
    if share is None:
        share = env.get("GRADIO_SHARE", "").strip().lower() == "true"
    name = server_name or env.get("GRADIO_SERVER_NAME", "").strip() or DEFAULT_SERVER_NAME
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]  # http://[::1]:port/ is a URL; the address to bind is ::1
    if server_port is not None:
        if isinstance(server_port, bool) or not isinstance(server_port, int):
            raise TypeError(f"server_port must be an int or None, got {server_port!r}")
        ports: tuple[int, ...] = (server_port,)
    else:
        first = _int_variable(env, "GRADIO_SERVER_PORT", DEFAULT_FIRST_PORT)
        count = max(1, _int_variable(env, "GRADIO_NUM_PORTS", DEFAULT_NUM_PORTS))
        ports = tuple(p for p in range(first, first + count) if p <= 65535)
        if not ports:
            raise ValueError(f"GRADIO_SERVER_PORT must be a port (0-65535), got {first}")
    root = env.get("GRADIO_ROOT_PATH", "") if root_path is None else root_path
    if root and not root.startswith("/"):
        raise ValueError(
            f"root_path (or GRADIO_ROOT_PATH) must be a URL path such as '/demo', got {root!r}"
        )
    return LaunchSettings(
        server_name=name,
        ports=ports,
        root_path=root.rstrip("/"),
        allowed_paths=allowed_paths or _path_list(env, "GRADIO_ALLOWED_PATHS"),
        blocked_paths=blocked_paths or _path_list(env, "GRADIO_BLOCKED_PATHS"),
        debug=debug or _int_variable(env, "GRADIO_DEBUG", 0) == 1,
        share_refused=bool(share),
    )
