"""Event listeners and the dependencies they declare: the app's event graph."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from webui.blocks import Block, Blocks
    from webui.components.base import Component
    from webui.components.timer import Timer

ConcurrencyLimit = int | None | Literal["default"]
ShowProgress = Literal["full", "minimal", "hidden"]
TriggerMode = Literal["once", "multiple", "always_last"]
SHOW_PROGRESS = ("full", "minimal", "hidden")
TRIGGER_MODES = ("once", "multiple", "always_last")


@dataclass(eq=False, kw_only=True)
class Dependency:
    """One backend function wired to its triggers, inputs and outputs (Gradio's BlockFunction)."""

    id: int
    root: Blocks
    fn: Callable[..., Any] | None
    inputs: list[Component]
    outputs: list[Component]
    targets: list[tuple[int, str]]
    api_name: str
    api_visibility: str = "public"
    api_description: str | None = None
    queue: bool = True
    concurrency_limit: ConcurrencyLimit = "default"
    concurrency_id: str = ""
    cancels: list[int] = field(default_factory=list)
    show_progress: str = "full"
    trigger_after: int | None = None
    trigger_only_on_success: bool = False
    trigger_mode: str = "once"
    preprocess: bool = True  # False: fn gets the raw payloads
    postprocess: bool = True  # False: results go out as they are (JSON-encodable)
    timer: Timer | None = None  # set for Timer.tick events, which the server drives

    @property
    def is_generator(self) -> bool:
        """Whether the event streams: a generator fn, or a tick loop sending one result a tick."""
        if self.timer is not None:
            return True
        return inspect.isgeneratorfunction(self.fn) or inspect.isasyncgenfunction(self.fn)

    def then(
        self, fn: Callable[..., Any] | None, inputs: Any = None, outputs: Any = None, **options: Any
    ) -> Dependency:
        """Run `fn` after this event ends, whether or not it succeeded."""
        return add_dependency(self.root, [], fn, inputs, outputs, trigger_after=self.id, **options)

    def success(
        self, fn: Callable[..., Any] | None, inputs: Any = None, outputs: Any = None, **options: Any
    ) -> Dependency:
        """Run `fn` after this event ends without an error."""
        return add_dependency(
            self.root,
            [],
            fn,
            inputs,
            outputs,
            trigger_after=self.id,
            trigger_only_on_success=True,
            **options,
        )

    def config(self) -> dict[str, Any]:
        """The `dependencies[]` entry of /config, in Gradio's shape."""
        return {
            "id": self.id,
            "targets": [list(t) for t in self.targets],
            "inputs": [c.id for c in self.inputs],
            "outputs": [c.id for c in self.outputs],
            "backend_fn": self.fn is not None,
            "js": None,
            "queue": self.queue,
            "api_name": self.api_name,
            "api_description": self.api_description,
            "scroll_to_output": False,
            "show_progress": self.show_progress,
            "show_progress_on": None,
            "batch": False,
            "max_batch_size": 4,
            "cancels": self.cancels,
            # A fn-less event with cancels is a stop button: the browser posts /cancel for it.
            "types": {
                "generator": self.is_generator,
                "cancel": self.fn is None and bool(self.cancels),
            },
            "collects_event_data": False,
            "trigger_after": self.trigger_after,
            "trigger_only_on_success": self.trigger_only_on_success,
            "trigger_only_on_failure": False,
            "trigger_mode": self.trigger_mode,
            "api_visibility": self.api_visibility,
            "rendered_in": None,
            "render_id": None,
            "connection": "sse",
            "time_limit": None,
            "stream_every": 0.5,
            "event_specific_args": None,
            "component_prop_inputs": [],
            "js_implementation": None,
        }


def _as_list(components: Any, what: str) -> list[Component]:
    from webui.components.base import Component

    if components is None:
        return []
    if isinstance(components, Component):
        return [components]
    if isinstance(components, set):
        raise TypeError(f"{what} as a set (dict-style arguments) is not supported yet; use a list")
    items = list(components)
    for item in items:
        if not isinstance(item, Component):
            raise TypeError(f"{what} must be components, got {type(item).__name__}: {item!r}")
    return items


def _default_api_name(fn: Callable[..., Any] | None) -> str:
    name = getattr(fn, "__name__", "fn") if fn is not None else "fn"
    name = re.sub(r"[^a-zA-Z0-9_]", "", name)
    return name or "fn"


def add_dependency(
    root: Blocks,
    targets: list[tuple[int, str]],
    fn: Callable[..., Any] | None,
    inputs: Any = None,
    outputs: Any = None,
    *,
    api_name: str | Literal[False] | None = None,
    api_visibility: Literal["public", "undocumented", "private"] | None = None,
    api_description: str | None = None,
    queue: bool = True,
    concurrency_limit: ConcurrencyLimit = "default",
    concurrency_id: str | None = None,
    cancels: Dependency | Sequence[Dependency] | None = None,
    show_progress: ShowProgress = "full",
    trigger_mode: TriggerMode | None = None,
    trigger_after: int | None = None,
    trigger_only_on_success: bool = False,
    preprocess: bool = True,
    postprocess: bool = True,
    timer: Timer | None = None,
) -> Dependency:
    """Declare an event; called by every listener (`.click`, `.then`, ...)."""
    if fn is not None and not callable(fn):
        raise TypeError(f"fn must be callable or None, got {type(fn).__name__}")
    if show_progress not in SHOW_PROGRESS:
        raise ValueError(f"show_progress must be one of {SHOW_PROGRESS}, got {show_progress!r}")
    if trigger_mode is not None and trigger_mode not in TRIGGER_MODES:
        raise ValueError(f"trigger_mode must be one of {TRIGGER_MODES}, got {trigger_mode!r}")
    if concurrency_limit not in ("default", None) and (
        not isinstance(concurrency_limit, int) or concurrency_limit < 1
    ):
        raise ValueError(
            f"concurrency_limit must be a positive int, None or 'default': {concurrency_limit!r}"
        )
    visibility = api_visibility or ("private" if api_name is False else "public")
    name = root.unique_api_name(api_name or _default_api_name(fn))
    cancel_list = [cancels] if isinstance(cancels, Dependency) else list(cancels or [])
    for cancelled in cancel_list:
        if not isinstance(cancelled, Dependency):
            raise TypeError(
                f"cancels must list events (what .click() etc. return), got {cancelled!r}"
            )
    dependency = Dependency(
        id=len(root.dependencies),
        root=root,
        fn=fn,
        inputs=_as_list(inputs, "inputs"),
        outputs=_as_list(outputs, "outputs"),
        targets=targets,
        api_name=name,
        api_visibility=visibility,
        api_description=api_description,
        queue=queue,
        concurrency_limit=concurrency_limit,
        concurrency_id=concurrency_id or str(id(fn)),
        cancels=[d.id for d in cancel_list],
        show_progress=show_progress,
        trigger_mode=trigger_mode or "once",
        trigger_after=trigger_after,
        trigger_only_on_success=trigger_only_on_success,
        preprocess=preprocess,
        postprocess=postprocess,
        timer=timer,
    )
    return root.add_dependency(dependency)


# Gradio's defaults: a value that changes while its last event runs only re-runs the last one.
_ALWAYS_LAST = {"change", "input", "release"}


def _listener(event: str) -> Callable[..., Dependency]:
    def listen(
        self: Block,
        fn: Callable[..., Any] | None = None,
        inputs: Any = None,
        outputs: Any = None,
        **options: Any,
    ) -> Dependency:
        if self.root is None:
            raise RuntimeError(
                f"{type(self).__name__}.{event}() needs the component rendered inside a Blocks"
            )
        if event in _ALWAYS_LAST:
            options.setdefault("trigger_mode", "always_last")
        return add_dependency(self.root, [(self.id, event)], fn, inputs, outputs, **options)

    listen.__name__ = event
    listen.__doc__ = (
        f"Run `fn(*inputs)` when this block fires `{event}`; its result goes to `outputs`."
    )
    return listen


class Clickable:
    click = _listener("click")


class Changeable:
    change = _listener("change")
    input = _listener("input")


class Submittable:
    submit = _listener("submit")
