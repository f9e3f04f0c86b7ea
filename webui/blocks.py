"""`Blocks`: a UI's root that serves itself (`launch()`, `.app`), the top of webui's layers.

The tree, its events and settings are `webui.root.Root`'s; this adds the Starlette app built
from them (`webui.routes`), the uvicorn server thread `launch()` starts, and notebook display.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from webui.auth import AuthSettings
from webui.i18n import I18n
from webui.launch_env import SHARE_REFUSED, LaunchSettings, resolve_launch
from webui.notebook import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    in_notebook,
    interactive,
    show_inline,
    show_text,
)
from webui.root import FOOTER_LINKS, QueueSettings, Root
from webui.routes import create_app
from webui.themes import Base as Theme
from webui.themes import resolve_theme
from webui.tls import TLSFiles
from webui.tree import Block, BlockContext

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from webui.auth import Accounts, AuthDependency

__all__ = ["Block", "BlockContext", "Blocks", "QueueSettings"]

logger = logging.getLogger(__name__)


class Blocks(Root):
    """The root of a UI: `with Blocks() as demo:`, then `demo.launch()` or mount `demo.app`."""

    # Server state, set per app by launch() (class defaults: Root's constructor is the one
    # Blocks, Interface and ChatInterface take).
    _server: Any = None  # a uvicorn.Server while launched
    _thread: threading.Thread | None = None
    _host: str | None = None
    _port: int | None = None
    _tls: TLSFiles | None = None
    local_url: str | None = None  # while launched
    height: int | str = DEFAULT_HEIGHT  # of the iframe in a notebook
    width: int | str = DEFAULT_WIDTH

    @property
    def app(self) -> Starlette:
        """The Starlette app serving this UI, built once on first use."""
        if self._app is None:
            for hook in self.startup_hooks:
                hook()
            self._app = create_app(self)
        return self._app

    def launch(
        self,
        server_name: str | None = None,
        server_port: int | None = None,
        *,
        share: bool | None = None,
        debug: bool = False,
        root_path: str | None = None,
        inline: bool | None = None,
        height: int | str = DEFAULT_HEIGHT,
        width: int | str = DEFAULT_WIDTH,
        prevent_thread_lock: bool = False,
        quiet: bool = False,
        show_error: bool | None = None,
        allowed_paths: list[str] | None = None,
        blocked_paths: list[str] | None = None,
        max_file_size: int | str | None = None,
        theme: Theme | str | None = None,
        css: str | None = None,
        auth: Accounts | None = None,
        auth_message: str | None = None,
        auth_dependency: AuthDependency | None = None,
        ssl_keyfile: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile_password: str | None = None,
        ssl_verify: bool = True,
        max_threads: int = 40,
        i18n: I18n | None = None,
        js: str | None = None,
        head: str | None = None,
        footer_links: list[str] | None = None,
        **unsupported: Any,
    ) -> tuple[Starlette, str, None]:
        """Serve on uvicorn in a background thread, and block until Ctrl-C in a script.

        In a notebook (or at a Python prompt) it never blocks, and `inline` (default: True in
        a Jupyter kernel) shows the app in the cell's output, an iframe `height` x `width`
        (pixels or CSS sizes). A second launch() while the server runs serves nothing new: it
        shows the running app again (close() first to change the host or port). After
        close(), launch() serves the app again, with a fresh queue and sessions.

        `allowed_paths` may be served besides uploads and outputs, `blocked_paths` never are
        (they win), and uploads over `max_file_size` (bytes or "5mb") are refused with 413.

        `auth` (a `(user, password)` tuple, a list of them, or a callable `(user, password) ->
        bool`) puts every route behind a login page showing `auth_message`; `auth_dependency`
        (request -> username or None) names the user instead. `ssl_certfile`/`ssl_keyfile`
        serve HTTPS. Both are checked before anything starts (TypeError/ValueError).

        Gradio's environment variables count where an argument is not given: GRADIO_SERVER_NAME,
        GRADIO_SERVER_PORT (the first port tried), GRADIO_NUM_PORTS, GRADIO_ROOT_PATH,
        GRADIO_ALLOWED_PATHS/GRADIO_BLOCKED_PATHS, GRADIO_DEBUG and GRADIO_SHARE (see
        `webui.launch_env`). webui makes no public links: with `share=True` it says so (a
        warning, and a line on stdout where Gradio prints that it could not make one) and
        serves on the local URL, as Gradio does offline; the share URL returned is None.
        `max_threads` (40) bounds the threads that run synchronous event functions at once.
        `i18n` (a `gr.I18n`) translates the page's marked text by the browser's language.
        `js` (a JavaScript function, as source) runs once the page is built, `head` (HTML) is
        added to the page's <head>, scripts included, and `footer_links` chooses the footer's
        links among "api", "gradio" and "settings" (all three by default), as in Gradio 6.
        """
        where = resolve_launch(
            server_name=server_name,
            server_port=server_port,
            root_path=root_path,
            allowed_paths=allowed_paths,
            blocked_paths=blocked_paths,
            share=share,
            debug=debug,
        )
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise ValueError(f"launch(max_threads=...) must be a positive int, got {max_threads!r}")
        settings = AuthSettings.from_launch(auth, auth_message, auth_dependency)
        if max_threads != self.max_threads:  # the threads that run sync event functions
            self.max_threads = max_threads
            self.executor.shutdown(wait=False)
            self.executor = ThreadPoolExecutor(
                max_workers=max_threads, thread_name_prefix="webui-fn"
            )
        tls = TLSFiles.from_launch(ssl_keyfile, ssl_certfile, ssl_keyfile_password, ssl_verify)
        if self._app is not None and (settings is None or not settings.same_as(self.auth)):
            self._app.state.sessions.clear()  # other credentials: no one stays in on the old
        self.auth = settings
        self.files.configure(
            allowed_paths=where.allowed_paths,
            blocked_paths=where.blocked_paths,
            max_file_size=max_file_size,
        )
        if theme is not None:  # Gradio 6 takes theme and css in launch(), not Blocks()
            self.theme = resolve_theme(theme)
        if css is not None:
            self.css = css
        self._set_page_extras(js, head, footer_links)
        if i18n is not None:
            if not isinstance(i18n, I18n):
                raise TypeError(f"launch(i18n=...) must be a gr.I18n, got {i18n!r}")
            self.i18n = i18n
        for key in unsupported:
            logger.warning("launch(%s=...) is not supported by webui and is ignored", key)
        if show_error is not None:
            self.show_error = show_error
        self.height, self.width = height, width
        if self._thread is not None and not self._thread.is_alive():
            self._stop_server()  # it died (the port was taken, say): start a new one
        if self.local_url is None:
            self.local_url = self._start_server(where, tls)
            if not quiet:  # the line Gradio users look for on stdout, not a log record
                print(f"* Running on local URL:  {self.local_url}", flush=True)
        if where.share_refused:
            logger.warning("share=True: webui makes no public share links; serving locally")
            if not quiet:
                print(SHARE_REFUSED, flush=True)
        elif (
            server_port not in (None, self._port)
            or where.server_name != self._host
            or tls != self._tls
        ):
            logger.warning(
                "the app is already running at %s; close() it first to serve on %s",
                self.local_url,
                where.server_name if server_port is None else f"{where.server_name}:{server_port}",
            )
        if inline or (inline is None and in_notebook()):
            show_inline(self.local_url, height=height, width=width)
        if where.debug or (not prevent_thread_lock and not interactive()):
            self._block_until_interrupted()
        return cast(tuple["Starlette", str, None], _Launched((self.app, self.local_url, None)))

    def _set_page_extras(
        self, js: str | None, head: str | None, footer_links: list[str] | None
    ) -> None:
        """launch()'s `js`, `head` and `footer_links`, checked; /config carries them."""
        for name, given in (("js", js), ("head", head)):
            if given is not None and not isinstance(given, str):
                raise TypeError(f"launch({name}=...) must be a string, got {given!r}")
        if js is not None:
            self.js = js
        if head is not None:
            self.head = head
        if footer_links is not None:
            unknown = [link for link in footer_links if link not in FOOTER_LINKS]
            if isinstance(footer_links, str) or unknown:
                raise ValueError(
                    f"launch(footer_links=...) takes a list of {list(FOOTER_LINKS)}, "
                    f"got {footer_links!r}"
                )
            self.footer_links = list(footer_links)

    def _start_server(self, where: LaunchSettings, tls: TLSFiles | None) -> str:
        """Starts uvicorn on a thread on the first port of `where.ports` it can bind, waits
        until it listens, and returns the local URL."""
        host = where.server_name
        for port in where.ports if len(where.ports) == 1 else _bindable(host, where.ports):
            started = self._serve_on(host, port, where.root_path, tls)
            if started is not None:
                break
        else:
            if len(where.ports) == 1:
                raise RuntimeError(
                    f"the webui server failed to start on {host}:{where.ports[0]} (its error is "
                    "logged above; a port in use? pass another server_port, or None for a free one)"
                )
            raise OSError(
                f"no free port on {host} in {where.ports[0]}..{where.ports[-1]}; pass "
                "server_port, or set GRADIO_SERVER_PORT to the first port to try"
            )
        server, thread = started
        self._server, self._thread, self._host, self._port = server, thread, host, port
        self._tls = tls
        # A wildcard address is no place a browser (or the notebook's iframe) can go to.
        shown = {"0.0.0.0": "localhost", "::": "localhost", "": "localhost"}.get(host, host)
        scheme = "https" if tls is not None else "http"
        return f"{scheme}://{f'[{shown}]' if ':' in shown else shown}:{port}/"

    def _serve_on(
        self, host: str, port: int, root_path: str, tls: TLSFiles | None
    ) -> tuple[Any, threading.Thread] | None:
        """A uvicorn server listening on host:port on its own thread, or None if it could not
        bind there."""
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # a log line per request costs more than an echo event
            timeout_graceful_shutdown=1,
            ssl_certfile=None if tls is None else tls.certfile,
            ssl_keyfile=None if tls is None else tls.keyfile,
            ssl_keyfile_password=None if tls is None else tls.keyfile_password,
            root_path=root_path,
        )  # loop and http stay "auto": uvloop and httptools, both dependencies
        server = uvicorn.Server(config)

        def serve() -> None:
            with contextlib.suppress(SystemExit):  # uvicorn's exit when it cannot bind
                server.run()

        thread = threading.Thread(target=serve, name="webui-server", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                return None
            time.sleep(0.01)
        return server, thread

    def _block_until_interrupted(self) -> None:
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            self.close()

    def close(self) -> None:
        """Stop the server started by launch(), and the app's workers; safe to call twice.

        The next launch() serves a new app (`demo.app`): its queue, sessions and streams
        belonged to the server that stopped.
        """
        self._stop_server()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = ThreadPoolExecutor(
            max_workers=self.max_threads, thread_name_prefix="webui-fn"
        )
        self.files.cleanup()

    def _stop_server(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._app is not None:
            self._app.state.webui.stop_streams()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread, self._app, self.local_url = None, None, None, None

    def _ipython_display_(self) -> None:
        """Jupyter shows a Blocks as the running app, launching it first if need be."""
        if not in_notebook():  # a terminal IPython: a value prints as text
            show_text(repr(self))
            return
        if self.local_url is None:
            self.launch(inline=False, height=self.height, width=self.width)
        assert self.local_url is not None
        show_inline(self.local_url, height=self.height, width=self.width)


class _Launched(tuple):
    """launch()'s (app, local URL, share URL): a notebook cell ending in `demo.launch()` shows
    the app, not this tuple after it."""

    def _ipython_display_(self) -> None:
        pass


def _bindable(host: str, ports: tuple[int, ...]) -> Iterator[int]:
    """The ports a socket can bind on `host` now, in order (a server may still lose one to
    another process before it binds: the caller tries the next)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in ports:
        with socket.socket(family) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        yield port
