"""Running one event: payloads in, the user's function, payloads out; plain or streaming."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from webui.component import Component
from webui.components.misc import State
from webui.deep_links import note_shown
from webui.errors import Error
from webui.event_data import Request, insert_special, special_parameters
from webui.events import Dependency
from webui.files import check_payload_files
from webui.tree import Block
from webui.updates import apply_update, skip, update_props

if TYPE_CHECKING:
    from webui.stream_outputs import MediaStream

_EXHAUSTED = object()
RENDERED_IDS = 100_000  # first id of a session's rendered events, above any app's own
C = TypeVar("C", bound=Component)


@dataclass(eq=False)
class SessionState:
    """What one session keeps between events: its State values and its updated components."""

    values: dict[int, Any] = field(default_factory=dict)  # State id -> this session's value
    components: dict[int, Component] = field(default_factory=dict)  # id -> updated copy
    last_used: float = field(default_factory=time.monotonic)
    changed_state_ids: set[int] = field(default_factory=set)  # since the last event's message
    # Events that gr.render functions declared for this session, by id, and by renderable.
    rendered: dict[int, Dependency] = field(default_factory=dict)
    rendered_by: dict[int, list[int]] = field(default_factory=dict)
    render_ids: itertools.count = field(default_factory=lambda: itertools.count(RENDERED_IDS))
    # What the page last showed of each block an event read or wrote (webui.deep_links).
    shown: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Chunks of streamed media outputs, by event and output (webui.stream_outputs).
    media_streams: dict[str, MediaStream] = field(default_factory=dict)

    def component(self, component: C) -> C:
        """This session's version of `component`: its copy with updated props, if any."""
        return self.components.get(component.id, component)  # type: ignore[return-value]

    def state_value(self, component: State) -> Any:
        if component.id not in self.values:
            self.values[component.id] = component.initial_value()
        return self.values[component.id]


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """What started an event besides its inputs: the block that fired it, the browser's
    `event_data` (SelectData's index and value, ...), and the HTTP request."""

    target_id: int | None = None
    event_data: Any = None
    request: Request | None = None


def preprocess(
    dependency: Dependency, data: list[Any], state: SessionState, trigger: Trigger | None = None
) -> list[Any]:
    """The arguments for `fn`: State inputs come from the session, never from the client;
    `inputs={a, b}` makes one dict keyed by component; EventData and Request parameters get
    theirs (see `webui.event_data`)."""
    if not isinstance(data, list) or len(data) != len(dependency.inputs):
        count = len(data) if isinstance(data, list) else type(data).__name__
        raise Error(f"/{dependency.api_name} takes {len(dependency.inputs)} inputs, got {count}")
    args = []
    for component, payload in zip(dependency.inputs, data, strict=True):
        if isinstance(component, State):
            args.append(state.state_value(component))
        else:
            check_payload_files(dependency.root.files, payload)  # the path policy, for any input
            note_shown(state.shown, component.id, payload)
            session_component = state.component(component)
            args.append(session_component.preprocess(payload) if dependency.preprocess else payload)
    if dependency.inputs_as_dict:
        args = [dict(zip(dependency.inputs, args, strict=True))]
    trigger = trigger or Trigger()
    target = (
        dependency.root.blocks.get(trigger.target_id) if trigger.target_id is not None else None
    )
    return insert_special(
        dependency.fn, args, target=target, event_data=trigger.event_data, request=trigger.request
    )


def _by_output(dependency: Dependency, result: Any) -> list[Any]:
    """One value per output; a `{block: value}` dict (components, or layouts such as a Column to
    show) updates only the outputs it names."""
    outputs = dependency.outputs
    if (
        isinstance(result, dict)
        and result
        and all(isinstance(key, Block) for key in result)
        and len(outputs) > 0
    ):
        unknown = [key for key in result if key not in outputs]
        if unknown:
            raise Error(
                f"/{dependency.api_name} returned a value for a component that is not among its "
                f"outputs: {type(unknown[0]).__name__} (id {unknown[0]._id})"
            )
        return [result.get(component, skip()) for component in outputs]
    if len(outputs) == 0:
        return []
    if len(outputs) == 1:
        return [result]
    if isinstance(result, tuple | list) and len(result) == len(outputs):
        return list(result)
    got = f"{len(result)} values" if isinstance(result, tuple | list) else "1 value"
    raise Error(f"/{dependency.api_name} returned {got} for {len(outputs)} outputs")


def postprocess(dependency: Dependency, result: Any, state: SessionState) -> list[Any]:
    """One payload per output; State outputs are stored in the session and sent as null."""
    payloads: list[Any] = []
    for component, value in zip(dependency.outputs, _by_output(dependency, result), strict=True):
        if isinstance(component, State):
            _store_state(component, value, state)
            payloads.append(None)
            continue
        if not isinstance(component, Component):  # a layout: only its props change
            props = update_props(value)
            if props is None:
                raise Error(f"/{dependency.api_name} returned a value for a layout; use update()")
            payloads.append({"__type__": "update", **props})
            note_shown(state.shown, component.id, payloads[-1])
            continue
        props = update_props(value)
        if props is None:
            session_component = state.component(component)
            payloads.append(
                session_component.postprocess(value) if dependency.postprocess else value
            )
        else:
            changed, payload = apply_update(state.component(component), props)
            if changed is not state.component(component):
                state.components[component.id] = changed
            payloads.append(payload)
        note_shown(state.shown, component.id, payloads[-1])
    return payloads


def _store_state(component: State, value: Any, state: SessionState) -> None:
    """Keep a State output's new value; `gr.update(value=...)` sets it, `skip()` keeps it.
    A value that differs from the last one is noted, for the State's `.change` listeners."""
    props = update_props(value)
    if props is not None:
        if "value" not in props:
            return
        value = props["value"]
    previous = state.values.get(component.id, _EXHAUSTED)
    try:
        changed = previous is _EXHAUSTED or bool(previous != value)
    except Exception:  # arrays and frames compare elementwise: count them as changed
        changed = True
    state.values[component.id] = value
    if changed:
        state.changed_state_ids.add(component.id)


async def _next_in_thread(
    executor: Executor, context: contextvars.Context, iterator: Iterator[Any]
) -> Any:
    loop = asyncio.get_running_loop()
    step = functools.partial(context.run, next, iterator, _EXHAUSTED)
    return await loop.run_in_executor(executor, step)


async def results(
    dependency: Dependency, args: list[Any], executor: Executor
) -> AsyncIterator[Any]:
    """Each value `fn` produces: one for a plain function, one per yield for a generator.

    Sync code runs in `executor` so a slow function never stalls the event loop; async code
    runs on the loop itself. Either way it sees the caller's context variables (the event's
    progress reporter). A generator is closed here when the consumer stops early (cancel).
    """
    fn = dependency.fn
    context = contextvars.copy_context()
    if fn is None:
        yield None
        return
    if inspect.isasyncgenfunction(fn):
        agen = fn(*args)
        try:
            async for value in agen:
                yield value
        finally:
            await agen.aclose()
    elif inspect.isgeneratorfunction(fn):
        gen = fn(*args)
        try:
            while (value := await _next_in_thread(executor, context, gen)) is not _EXHAUSTED:
                yield value
        finally:
            # Cancelled mid-step, the generator is still running in its thread and cannot be
            # closed now; it is dropped instead and finishes that one step on its own.
            with contextlib.suppress(ValueError):
                gen.close()
    elif dependency.batch:
        yield _one_of_batch(dependency, await _call(fn, _as_batch(dependency, args), executor))
    else:
        yield await _call(fn, args, executor)


async def _call(fn: Callable[..., Any], args: list[Any], executor: Executor) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, contextvars.copy_context().run, fn, *args)


def _as_batch(dependency: Dependency, args: list[Any]) -> list[Any]:
    """A batch of one: each input as a one-element list. Special arguments (EventData,
    Request, Progress defaults) are not inputs and stay as they are."""
    count = len(dependency.inputs) if not dependency.inputs_as_dict else 1
    special = special_parameters(dependency.fn)
    batched, seen = [], 0
    for index, arg in enumerate(args):
        if index in special or seen >= count:
            batched.append(arg)
        else:
            batched.append([arg])
            seen += 1
    return batched


def _one_of_batch(dependency: Dependency, result: Any) -> Any:
    """The first (only) item of each output's list; Gradio requires one list per output."""
    count = len(dependency.outputs)
    if count == 0:
        return None
    if not isinstance(result, tuple | list) or len(result) != count:
        raise Error(
            f"/{dependency.api_name} is batched: it must return {count} list(s), one per output"
        )
    items = [
        column[0] if isinstance(column, tuple | list) and column else None for column in result
    ]
    return items[0] if count == 1 else tuple(items)


def error_payload(error: BaseException, show_error: bool) -> dict[str, Any]:
    """The `output` of a failed event: the message only when the app chose to show it."""
    if isinstance(error, Error):
        return {
            "error": error.message,
            "duration": error.duration,
            "visible": error.visible,
            "title": error.title,
        }
    if show_error:
        return {"error": str(error), "duration": 10, "visible": True, "title": "Error"}
    return {"error": None}
