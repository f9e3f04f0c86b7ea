"""A dependency: one backend function wired to its triggers, inputs and outputs, as the config
shows it; `add_dependency` checks every listener keyword Gradio's listeners take."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from webui.capture import current_capture
from webui.component import Component
from webui.event_data import collects_event_data
from webui.tree import BlockContext

if TYPE_CHECKING:
    from webui.render import Renderable
    from webui.root import Root
    from webui.timer import Timer

ConcurrencyLimit = int | None | Literal["default"]
ShowProgress = Literal["full", "minimal", "hidden"]
TriggerMode = Literal["once", "multiple", "always_last"]
SHOW_PROGRESS = ("full", "minimal", "hidden")
TRIGGER_MODES = ("once", "multiple", "always_last")
API_VISIBILITY = ("public", "private", "undocumented")


class _Decorator:
    """The default `fn` of a listener: called without one, the listener returns a decorator."""

    def __repr__(self) -> str:
        return "<decorator>"


DECORATOR: Any = _Decorator()


@dataclass(eq=False, kw_only=True)
class Dependency:
    """One backend function wired to its triggers, inputs and outputs (Gradio's BlockFunction)."""

    id: int
    root: Root
    fn: Callable[..., Any] | None
    inputs: list[Component]
    outputs: list[Component]
    targets: list[tuple[int, str]]
    api_name: str
    api_visibility: str = "public"
    api_description: str | Literal[False] | None = None  # False: none, not fn's docstring
    queue: bool = True
    concurrency_limit: ConcurrencyLimit = "default"
    concurrency_id: str = ""
    cancels: list[int] = field(default_factory=list)
    show_progress: str = "full"
    show_progress_on: list[int] | None = None
    scroll_to_output: bool = False
    trigger_after: int | None = None
    trigger_only_on_success: bool = False
    trigger_only_on_failure: bool = False
    trigger_mode: str = "once"
    preprocess: bool = True  # False: fn gets the raw payloads
    postprocess: bool = True  # False: results go out as they are (JSON-encodable)
    batch: bool = False  # fn takes and returns lists; webui calls it with batches of one
    max_batch_size: int = 4
    # Author-trusted JavaScript the page runs (see events.js). True is Gradio's "run fn in the
    # page, transpiled to JS": webui has no transpiler (js_implementation stays None), so fn
    # runs on the server, as Gradio does where transpiling fails.
    js: str | Literal[True] | None = None
    inputs_as_dict: bool = False  # inputs={a, b}: fn gets one dict keyed by component
    time_limit: float | None = None
    stream_every: float = 0.5
    connection: Literal["sse", "stream"] = "sse"  # "stream": a .stream() event (stream_inputs)
    key: Any = None
    validator: Callable[..., Any] | None = None
    event_specific_args: list[str] | None = None
    timer: Timer | None = None  # set for Timer.tick events, which the server drives
    renderable: Renderable | None = None  # set for a @gr.render function's event

    @property
    def is_generator(self) -> bool:
        """Whether the event streams: a generator fn, or a tick loop sending one result a tick."""
        if self.timer is not None:
            return True
        return inspect.isgeneratorfunction(self.fn) or inspect.isasyncgenfunction(self.fn)

    def _follow(self, fn: Any, inputs: Any, outputs: Any, **options: Any) -> Any:
        return register(self.root, [], fn, inputs, outputs, trigger_after=self.id, **options)

    def then(self, fn: Any = DECORATOR, inputs: Any = None, outputs: Any = None, **options: Any):
        """Run `fn` after this event ends, whether or not it succeeded."""
        return self._follow(fn, inputs, outputs, **options)

    def success(self, fn: Any = DECORATOR, inputs: Any = None, outputs: Any = None, **options):
        """Run `fn` after this event ends without an error."""
        return self._follow(fn, inputs, outputs, trigger_only_on_success=True, **options)

    def failure(self, fn: Any = DECORATOR, inputs: Any = None, outputs: Any = None, **options):
        """Run `fn` after this event ends with an error."""
        return self._follow(fn, inputs, outputs, trigger_only_on_failure=True, **options)

    def config(self) -> dict[str, Any]:
        """The `dependencies[]` entry of /config, in Gradio's shape."""
        return {
            "id": self.id,
            "targets": [list(t) for t in self.targets],
            "inputs": [c.id for c in self.inputs],
            "outputs": [c.id for c in self.outputs],
            "backend_fn": self.fn is not None,
            "js": self.js,
            "queue": self.queue,
            "api_name": self.api_name,
            "api_description": self.api_description,
            "scroll_to_output": self.scroll_to_output,
            "show_progress": self.show_progress,
            "show_progress_on": self.show_progress_on,
            "batch": self.batch,
            "max_batch_size": self.max_batch_size,
            "cancels": self.cancels,
            # A fn-less event with cancels is a stop button: the browser posts /cancel for it.
            "types": {
                "generator": self.is_generator,
                "cancel": self.fn is None and bool(self.cancels),
            },
            "collects_event_data": collects_event_data(self.fn),
            "trigger_after": self.trigger_after,
            "trigger_only_on_success": self.trigger_only_on_success,
            "trigger_only_on_failure": self.trigger_only_on_failure,
            "trigger_mode": self.trigger_mode,
            "api_visibility": self.api_visibility,
            "rendered_in": None,
            "render_id": None,
            "connection": self.connection,
            "time_limit": self.time_limit,
            "stream_every": self.stream_every,
            "event_specific_args": self.event_specific_args,
            "component_prop_inputs": [],
            "js_implementation": None,
        }


def _as_list(components: Any, what: str) -> tuple[list[Component], bool]:
    """The components, and whether they came as a set (fn then takes/returns a dict).
    Outputs may also be layouts (Gradio's `outputs=tabs` for `gr.Tabs(selected=...)`)."""
    allowed: tuple[type, ...] = (Component, BlockContext) if what == "outputs" else (Component,)
    if components is None:
        return [], False
    # Layout outputs ride in the same list as components; processing tells them apart.
    if isinstance(components, allowed):
        return cast("list[Component]", [components]), False
    as_set = isinstance(components, set | frozenset)
    items = list(components)
    for item in items:
        if not isinstance(item, allowed) or item.root is item:  # a layout, not an app
            raise TypeError(f"{what} must be components, got {type(item).__name__}: {item!r}")
    if as_set:
        items.sort(key=lambda c: c.id)  # a set has no order; the wire needs one
    return items, as_set


def _default_api_name(fn: Callable[..., Any] | None) -> str:
    name = getattr(fn, "__name__", "fn") if fn is not None else "fn"
    name = re.sub(r"[^a-zA-Z0-9_]", "", name)
    return name or "fn"


def _check_options(
    show_progress: Any, trigger_mode: Any, concurrency_limit: Any, max_batch_size: Any, js: Any
) -> None:
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
    if not isinstance(max_batch_size, int) or max_batch_size < 1:
        raise ValueError(f"max_batch_size must be a positive int, got {max_batch_size!r}")
    if js is not None and js is not True and not isinstance(js, str):
        raise TypeError(f"js must be a JavaScript function as a string or True, got {js!r}")


def _components_ids(components: Any, what: str) -> list[int] | None:
    if components is None:
        return None
    return [c.id for c in _as_list(components, what)[0]]


def add_dependency(
    root: Root,
    targets: list[tuple[int, str]],
    fn: Callable[..., Any] | None,
    inputs: Any = None,
    outputs: Any = None,
    *,
    api_name: str | Literal[False] | None = None,
    api_visibility: Literal["public", "undocumented", "private"] | None = None,
    api_description: str | Literal[False] | None = None,
    show_api: bool | None = None,
    scroll_to_output: bool = False,
    show_progress: ShowProgress | bool = "full",
    show_progress_on: Any = None,
    queue: bool | None = True,
    batch: bool = False,
    max_batch_size: int = 4,
    preprocess: bool = True,
    postprocess: bool = True,
    cancels: Dependency | Sequence[Dependency] | None = None,
    trigger_mode: TriggerMode | None = None,
    js: str | Literal[True] | None = None,
    concurrency_limit: ConcurrencyLimit = "default",
    concurrency_id: str | None = None,
    time_limit: float | None = None,
    stream_every: float = 0.5,
    connection: Literal["sse", "stream"] = "sse",
    key: Any = None,
    validator: Callable[..., Any] | None = None,
    trigger_after: int | None = None,
    trigger_only_on_success: bool = False,
    trigger_only_on_failure: bool = False,
    event_specific_args: list[str] | None = None,
    timer: Timer | None = None,
) -> Dependency:
    """Declare an event; called by every listener (`.click`, `.then`, `gr.on`, ...)."""
    if fn is not None and not callable(fn):
        raise TypeError(f"fn must be callable or None, got {type(fn).__name__}")
    if isinstance(show_progress, bool):  # Gradio takes True/False for full/hidden
        show_progress = "full" if show_progress else "hidden"
    _check_options(show_progress, trigger_mode, concurrency_limit, max_batch_size, js)
    if js is True and inputs:
        raise ValueError("js=True events cannot have inputs (Gradio refuses them too)")
    if batch and (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)):
        raise ValueError("batch=True does not take a generator fn (Gradio refuses it too)")
    if validator is not None and not callable(validator):
        raise TypeError(f"validator must be callable, got {type(validator).__name__}")
    if api_visibility is not None and api_visibility not in API_VISIBILITY:
        raise ValueError(f"api_visibility must be one of {API_VISIBILITY}: {api_visibility!r}")
    visibility = api_visibility or (
        "private" if api_name is False else "undocumented" if show_api is False else "public"
    )
    if fn is None:
        visibility = "private"  # as Gradio: a fn-less event is no endpoint
    name = root.unique_api_name(api_name or _default_api_name(fn))
    cancel_list = [cancels] if isinstance(cancels, Dependency) else list(cancels or [])
    for cancelled in cancel_list:
        if not isinstance(cancelled, Dependency):
            raise TypeError(
                f"cancels must list events (what .click() etc. return), got {cancelled!r}"
            )
    input_list, inputs_as_dict = _as_list(inputs, "inputs")
    output_list = _as_list(outputs, "outputs")[0]
    dependency = Dependency(
        id=len(root.dependencies),
        root=root,
        fn=fn,
        inputs=input_list,
        outputs=output_list,
        targets=targets,
        api_name=name,
        api_visibility=visibility,
        api_description=api_description,
        queue=queue is not False,
        concurrency_limit=concurrency_limit,
        concurrency_id=concurrency_id or str(id(fn)),
        cancels=[d.id for d in cancel_list],
        show_progress=show_progress,
        show_progress_on=_components_ids(show_progress_on, "show_progress_on"),
        scroll_to_output=bool(scroll_to_output),
        trigger_mode=trigger_mode or "once",
        trigger_after=trigger_after,
        trigger_only_on_success=trigger_only_on_success,
        trigger_only_on_failure=trigger_only_on_failure,
        preprocess=preprocess,
        postprocess=postprocess,
        batch=bool(batch),
        max_batch_size=max_batch_size,
        js=js,
        inputs_as_dict=inputs_as_dict,
        time_limit=time_limit,
        stream_every=stream_every,
        connection=connection,
        key=key,
        validator=validator,
        event_specific_args=event_specific_args,
        timer=timer,
    )
    capture = current_capture()
    if capture is not None:  # declared by a gr.render function: it belongs to one session
        return capture.add(dependency)
    return root.add_dependency(dependency)


def register(
    root: Root,
    targets: list[tuple[int, str]],
    fn: Any,
    inputs: Any = None,
    outputs: Any = None,
    **options: Any,
) -> Any:
    """`add_dependency`, or, when `fn` is left out, a decorator that adds it for the function
    it decorates and returns that function (`@btn.click(inputs=..., outputs=...)`).

    Left out with `js=`, the event is declared at once as js-only, and a later decoration
    gives it its Python fn, as Gradio does (`btn.click(js="...")` needs no decoration).
    """
    if "every" in options:
        raise TypeError(
            "every= is not a listener keyword in Gradio 6; use a gr.Timer's .tick(), "
            "demo.load(every=...), or a component's callable value with every="
        )
    if fn is not DECORATOR:
        return add_dependency(root, targets, fn, inputs, outputs, **options)
    js_only = None
    if isinstance(options.get("js"), str):
        js_only = add_dependency(root, targets, None, inputs, outputs, **options)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if js_only is None:
            add_dependency(root, targets, func, inputs, outputs, **options)
            return func
        js_only.fn = func
        js_only.api_visibility = options.get("api_visibility") or (
            "private" if options.get("api_name") is False else "public"
        )
        js_only.api_name = ""  # not taken: unique_api_name must not see the js-only name
        js_only.api_name = root.unique_api_name(options.get("api_name") or _default_api_name(func))
        js_only.concurrency_id = options.get("concurrency_id") or str(id(func))
        return func

    return decorate
