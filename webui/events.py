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

ConcurrencyLimit = int | None | Literal["default"]


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

    @property
    def is_generator(self) -> bool:
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
            "types": {"generator": self.is_generator, "cancel": False},
            "collects_event_data": False,
            "trigger_after": self.trigger_after,
            "trigger_only_on_success": self.trigger_only_on_success,
            "trigger_only_on_failure": False,
            "trigger_mode": "once",
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
    show_progress: Literal["full", "minimal", "hidden"] = "full",
    trigger_after: int | None = None,
    trigger_only_on_success: bool = False,
) -> Dependency:
    """Declare an event; called by every listener (`.click`, `.then`, ...)."""
    if fn is not None and not callable(fn):
        raise TypeError(f"fn must be callable or None, got {type(fn).__name__}")
    if concurrency_limit not in ("default", None) and (
        not isinstance(concurrency_limit, int) or concurrency_limit < 1
    ):
        raise ValueError(
            f"concurrency_limit must be a positive int, None or 'default': {concurrency_limit!r}"
        )
    visibility = api_visibility or ("private" if api_name is False else "public")
    name = root.unique_api_name(api_name or _default_api_name(fn))
    cancel_list = [cancels] if isinstance(cancels, Dependency) else list(cancels or [])
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
        trigger_after=trigger_after,
        trigger_only_on_success=trigger_only_on_success,
    )
    return root.add_dependency(dependency)


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
