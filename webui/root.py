"""The root of a UI tree: block ids, the app's events, load events and queue settings.

The top of webui's core layer. It knows nothing of the server: `webui.blocks.Blocks` adds
`launch()` and the Starlette app on top of it, and the server layer reads the settings kept
here (`queue_settings`, `executor`, `files`, `auth`, `show_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from webui.capture import current_capture
from webui.dependency import DECORATOR, Dependency, register
from webui.files import FileStore
from webui.load_events import attach_load_events
from webui.nesting import move_into
from webui.pages import Pages
from webui.themes import Base as Theme
from webui.themes import resolve_theme
from webui.timer import Timer
from webui.tree import Block, BlockContext, open_layout

if TYPE_CHECKING:
    from webui.auth import AuthSettings
    from webui.i18n import I18n


# The page footer's links, as Gradio names them: the API info, the library, the settings (theme).
FOOTER_LINKS = ("api", "gradio", "settings")


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


class Root(BlockContext):
    """A UI's block tree and events: `with Blocks() as demo:` builds one (see `Blocks`)."""

    block_type = "blocks"

    def __init__(
        self,
        title: str = "webui",
        *,
        css: str | None = None,
        theme: Theme | str | None = None,
        fill_height: bool = False,
        fill_width: bool = False,
        analytics_enabled: bool | None = None,  # webui sends no analytics: nothing to turn off
        show_error: bool = False,
        delete_cache: tuple[float, float] | None = None,
    ):
        self.title = title
        self.css = css
        self.theme = resolve_theme(theme)  # served as /theme.css; a name such as "soft" works
        self.fill_height = fill_height
        self.fill_width = fill_width
        self.show_error = show_error
        # Every `frequency` s, uploaded and cached files older than `age` s are deleted (see
        # webui.session_end, which runs the sweep).
        self.delete_cache = _check_delete_cache(delete_cache)
        self.i18n: I18n | None = None  # launch(i18n=...) sets it; /config carries its table
        self.js: str | None = None  # launch(js=...): run by the page once it is built
        self.head: str | None = None  # launch(head=...): HTML added to the page's <head>
        self.footer_links: list[str] = list(FOOTER_LINKS)  # launch(footer_links=...)
        self.blocks: dict[int, Block] = {}
        self.pages = Pages()  # demo.route() adds pages; blocks and events belong to one
        self.dependencies: list[Dependency] = []
        self.queue_settings = QueueSettings()
        self._next_id = 0
        self._app: Any = None  # the served Starlette app, once `Blocks.app` built it
        self.max_threads = 40  # Gradio's default; launch(max_threads=...) changes it
        self.executor = ThreadPoolExecutor(
            max_workers=self.max_threads, thread_name_prefix="webui-fn"
        )
        self.files = FileStore()  # upload and cache dirs, and the policy on every file path
        self.auth: AuthSettings | None = None  # set by launch(auth=...); the app's gate reads it
        # Run each time the app is built, before it serves (gr.Examples caches outputs here).
        self.startup_hooks: list[Callable[[], None]] = []
        super().__init__(render=False)
        self.root = self
        self._id = self._register(self)

    def render(self) -> Self:
        """Inside another Blocks, move this app's blocks and events into it (Gradio's
        `demo.render()`, used by TabbedInterface); elsewhere a no-op."""
        parent = open_layout()
        if parent is not None and parent.root is not self:
            move_into(self, parent)
        return self

    def _register(self, block: Block) -> int:
        block_id = self._next_id
        self._next_id += 1
        if current_capture() is None:  # a gr.render run's blocks belong to one session only
            self.blocks[block_id] = block
            self.pages.place_block(block_id)
        return block_id

    def add_dependency(self, dependency: Dependency) -> Dependency:
        self.dependencies.append(dependency)
        self.pages.place_dependency(dependency.id)
        return dependency

    def route(self, name: str, path: str | None = None, show_in_navbar: bool = True) -> Self:
        """Add a page served at `/<path>` (default: `name` slugified), as Gradio's: the blocks
        and events of the `with demo.route(name):` that follows belong to it (see
        `webui.pages`). Call it outside the app's `with`."""
        if open_layout() is not None:
            raise ValueError(
                "You cannot create a route while inside a Blocks() context. Call route() "
                "outside the Blocks() context (unindent this line)."
            )
        self.pages.add(name, path, show_in_navbar)
        return self

    def has_listener(self, block: Block, event: str) -> bool:
        """Whether an event of this app waits for `event` on `block`."""
        return any((block.id, event) in d.targets for d in self.dependencies)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if not self._tokens:  # the outermost `with` ends: Gradio attaches load events here
            attach_load_events(self)
            if not exc or exc[0] is None:
                self.render()  # built inside another app's `with`, it shows there, as in Gradio

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
        if every is None:
            return register(self, [(self.id, "load")], fn, inputs, outputs, **options)
        with self:
            timer = Timer(every)
        targets = [(self.id, "load"), (timer.id, "tick")]
        return register(self, targets, fn, inputs, outputs, timer=timer, **options)

    def unload(self, fn: Callable[..., Any]) -> Dependency:
        """Run `fn()` when a session ends, its page closed or reloaded (`webui.session_end`);
        no inputs, and its result is dropped. Private: no client can call it."""
        return register(
            self,
            [(self.id, "unload")],
            fn,
            None,
            None,
            api_visibility="private",
            show_progress="hidden",
            preprocess=False,
            postprocess=False,
        )

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
    ) -> Self:
        """Set queue limits; returns self so `demo.queue().launch()` chains as in Gradio.

        `status_update_rate` takes "auto" only: webui tells each event its place in line when it
        joins the queue; status at a fixed period (seconds, Gradio's other choice) is refused.
        """
        if status_update_rate != "auto":
            raise ValueError(
                f"queue(status_update_rate={status_update_rate!r}) is not supported: webui tells "
                "each event its place in line when it joins the queue ('auto')"
            )
        if self._app is not None:
            raise RuntimeError("queue() must be called before the app is built (launch or .app)")
        self.queue_settings = QueueSettings(
            default_concurrency_limit=default_concurrency_limit,
            max_size=max_size,
            api_open=api_open,
        )
        return self


def _check_delete_cache(delete_cache: object) -> tuple[float, float] | None:
    """`delete_cache=(frequency, age)` in seconds, checked; None turns the sweep off."""
    if delete_cache is None:
        return None
    if (
        not isinstance(delete_cache, tuple | list)
        or len(delete_cache) != 2
        or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and x > 0 for x in delete_cache
        )
    ):
        raise ValueError(
            "delete_cache must be (frequency, age), two positive numbers of seconds, or None; "
            f"got {delete_cache!r}"
        )
    return float(delete_cache[0]), float(delete_cache[1])
