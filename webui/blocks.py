"""The block tree: ids, render context, layout nesting, and the Blocks root that serves it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from webui.auth import AuthSettings
from webui.dependency import DECORATOR
from webui.files import FileStore
from webui.launch_env import LaunchSettings, resolve_launch
from webui.notebook import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    in_notebook,
    interactive,
    show_inline,
    show_text,
)
from webui.themes import Base as Theme
from webui.themes import resolve_theme
from webui.tls import TLSFiles

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from webui.auth import Accounts, AuthDependency
    from webui.events import Dependency

logger = logging.getLogger(__name__)

# The innermost open layout; a ContextVar (not a module global) so threads and tasks building
# separate apps never see each other's trees.
_render_parent: ContextVar[BlockContext | None] = ContextVar("webui_render_parent", default=None)


class Block:
    """A node of the UI tree. It takes an id from its Blocks root when rendered inside one."""

    block_type: ClassVar[str] = "block"
    skip_api: ClassVar[bool] = True

    def __init__(
        self,
        *,
        visible: bool = True,
        elem_id: str | None = None,
        elem_classes: list[str] | str | None = None,
        render: bool = True,
    ):
        self._id: int | None = None
        self.root: Blocks | None = None
        self.visible = visible
        self.elem_id = elem_id
        self.elem_classes = [elem_classes] if isinstance(elem_classes, str) else elem_classes or []
        if render:
            self.render()

    @property
    def id(self) -> int:
        if self._id is None:
            raise RuntimeError(
                f"{type(self).__name__} has no id: create it inside a `with Blocks():` block "
                "or call .render() inside one"
            )
        return self._id

    def render(self) -> Block:
        """Attach to the innermost open layout; outside any Blocks this is a no-op."""
        parent = _render_parent.get()
        if parent is None or self._id is not None:
            return self
        self.root = parent.root
        self._id = self.root._register(self)
        parent.children.append(self)
        return self

    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"visible": self.visible, "elem_classes": self.elem_classes}
        if self.elem_id is not None:
            props["elem_id"] = self.elem_id
        props["name"] = self.block_type
        return props

    def config(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.block_type,
            "props": self.props(),
            "skip_api": self.skip_api,
            "key": None,
        }

    def layout(self) -> dict[str, Any]:
        return {"id": self.id}


class BlockContext(Block):
    """A block holding children: entering it makes new blocks render inside it."""

    def __init__(self, **kwargs: Any):
        self.children: list[Block] = []
        self._tokens: list[Token] = []
        super().__init__(**kwargs)

    def __enter__(self) -> BlockContext:
        if self._id is None and not isinstance(self, Blocks):
            raise RuntimeError(f"{type(self).__name__} must be opened inside a `with Blocks():`")
        self._tokens.append(_render_parent.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _render_parent.reset(self._tokens.pop())

    def layout(self) -> dict[str, Any]:
        return {"id": self.id, "children": [child.layout() for child in self.children]}


@dataclass(frozen=True, kw_only=True)
class QueueSettings:
    """How events are queued; `default_concurrency_limit=None` means unlimited."""

    default_concurrency_limit: int | None = 1
    max_size: int | None = None
    api_open: bool = True

    def __post_init__(self) -> None:
        limit = self.default_concurrency_limit
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"default_concurrency_limit must be a positive int or None: {limit!r}")
        if self.max_size is not None and self.max_size < 1:
            raise ValueError(f"max_size must be a positive int or None: {self.max_size!r}")


class Blocks(BlockContext):
    """The root of a UI: `with Blocks() as demo:`, then `demo.launch()` or mount `demo.app`."""

    block_type = "blocks"

    def __init__(
        self,
        title: str = "webui",
        *,
        css: str | None = None,
        theme: Theme | str | None = None,
        fill_height: bool = False,
        fill_width: bool = False,
        analytics_enabled: bool | None = None,
        show_error: bool = False,
    ):
        self.title = title
        self.css = css
        self.theme = resolve_theme(theme)  # served as /theme.css; a name such as "soft" works
        self.fill_height = fill_height
        self.fill_width = fill_width
        self.show_error = show_error
        self.blocks: dict[int, Block] = {}
        self.dependencies: list[Dependency] = []
        self.queue_settings = QueueSettings()
        self._next_id = 0
        self._app: Starlette | None = None
        self._server: Any = None  # a uvicorn.Server while launched
        self._thread: threading.Thread | None = None
        self._host: str | None = None
        self._port: int | None = None
        self.local_url: str | None = None  # while launched
        self.height: int | str = DEFAULT_HEIGHT  # of the iframe in a notebook
        self.width: int | str = DEFAULT_WIDTH
        self.max_threads = 40  # Gradio's default; launch(max_threads=...) changes it
        self.executor = ThreadPoolExecutor(
            max_workers=self.max_threads, thread_name_prefix="webui-fn"
        )
        self.files = FileStore()  # upload and cache dirs, and the policy on every file path
        self.auth: AuthSettings | None = None  # set by launch(auth=...); the app's gate reads it
        self._tls: TLSFiles | None = None
        # Run each time the app is built, before it serves (gr.Examples caches outputs here).
        self.startup_hooks: list[Callable[[], None]] = []
        super().__init__(render=False)
        self.root = self
        self._id = self._register(self)

    def render(self) -> Blocks:
        """Inside another Blocks, move this app's blocks and events into it (Gradio's
        `demo.render()`, used by TabbedInterface); elsewhere a no-op."""
        parent = _render_parent.get()
        if parent is not None and parent.root is not self:
            from webui.nesting import move_into

            move_into(self, parent)
        return self

    def _register(self, block: Block) -> int:
        from webui.render import current_capture

        block_id = self._next_id
        self._next_id += 1
        if current_capture() is None:  # a gr.render run's blocks belong to one session only
            self.blocks[block_id] = block
        return block_id

    def add_dependency(self, dependency: Dependency) -> Dependency:
        self.dependencies.append(dependency)
        return dependency

    def has_listener(self, block: Block, event: str) -> bool:
        """Whether an event of this app waits for `event` on `block`."""
        return any((block.id, event) in d.targets for d in self.dependencies)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if not self._tokens:  # the outermost `with` ends: Gradio attaches load events here
            from webui.load_events import attach_load_events

            attach_load_events(self)

    def load(
        self,
        fn: Callable[..., Any] | None = DECORATOR,
        inputs: Any = None,
        outputs: Any = None,
        *,
        every: float | None = None,
        **options: Any,
    ) -> Dependency:
        """Run `fn` when a page opens; with `every=seconds`, then again every `every` seconds.

        The repeats are the ticks of a new Timer, streamed by one server-driven event (see
        `Timer`); its first result is the one for the page opening.
        """
        from webui.dependency import register

        if every is None:
            return register(self, [(self.id, "load")], fn, inputs, outputs, **options)
        from webui.components.timer import Timer

        with self:
            timer = Timer(every)
        targets = [(self.id, "load"), (timer.id, "tick")]
        return register(self, targets, fn, inputs, outputs, timer=timer, **options)

    def unique_api_name(self, name: str) -> str:
        """`name`, or `name_1`, `name_2`, ... if an earlier event already took it."""
        taken = {d.api_name for d in self.dependencies}
        candidate, n = name, 0
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        return candidate

    def queue(
        self,
        *,
        default_concurrency_limit: int | None = 1,
        max_size: int | None = None,
        api_open: bool = True,
        status_update_rate: object = "auto",
    ) -> Blocks:
        """Set queue limits; returns self so `demo.queue().launch()` chains as in Gradio."""
        if self._app is not None:
            raise RuntimeError("queue() must be called before the app is built (launch or .app)")
        self.queue_settings = QueueSettings(
            default_concurrency_limit=default_concurrency_limit,
            max_size=max_size,
            api_open=api_open,
        )
        return self

    @property
    def app(self) -> Starlette:
        """The Starlette app serving this UI, built once on first use."""
        if self._app is None:
            from webui.routes import create_app

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
        `webui.launch_env`). `share=True` raises ValueError: webui makes no public links.
        `max_threads` (40) bounds the threads that run synchronous event functions at once.
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
