"""Running one event: payloads in, the user's function, payloads out; plain or streaming."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from webui.components.base import Component
from webui.components.misc import State
from webui.errors import Error
from webui.events import Dependency
from webui.files import check_payload_files
from webui.updates import apply_update, update_props

_EXHAUSTED = object()
C = TypeVar("C", bound=Component)


@dataclass(eq=False)
class SessionState:
    """What one session keeps between events: its State values and its updated components."""

    values: dict[int, Any] = field(default_factory=dict)  # State id -> this session's value
    components: dict[int, Component] = field(default_factory=dict)  # id -> updated copy
    last_used: float = field(default_factory=time.monotonic)

    def component(self, component: C) -> C:
        """This session's version of `component`: its copy with updated props, if any."""
        return self.components.get(component.id, component)  # type: ignore[return-value]

    def state_value(self, component: State) -> Any:
        if component.id not in self.values:
            self.values[component.id] = component.initial_value()
        return self.values[component.id]


def preprocess(dependency: Dependency, data: list[Any], state: SessionState) -> list[Any]:
    """The arguments for `fn`: State inputs come from the session, never from the client."""
    if not isinstance(data, list) or len(data) != len(dependency.inputs):
        count = len(data) if isinstance(data, list) else type(data).__name__
        raise Error(f"/{dependency.api_name} takes {len(dependency.inputs)} inputs, got {count}")
    args = []
    for component, payload in zip(dependency.inputs, data, strict=True):
        if isinstance(component, State):
            args.append(state.state_value(component))
        else:
            check_payload_files(dependency.root.files, payload)  # the path policy, for any input
            session_component = state.component(component)
            args.append(session_component.preprocess(payload) if dependency.preprocess else payload)
    return args


def postprocess(dependency: Dependency, result: Any, state: SessionState) -> list[Any]:
    """One payload per output; State outputs are stored in the session and sent as null."""
    outputs = dependency.outputs
    if len(outputs) == 0:
        values: list[Any] = []
    elif len(outputs) == 1:
        values = [result]
    elif isinstance(result, tuple | list) and len(result) == len(outputs):
        values = list(result)
    else:
        got = f"{len(result)} values" if isinstance(result, tuple | list) else "1 value"
        raise Error(f"/{dependency.api_name} returned {got} for {len(outputs)} outputs")
    payloads: list[Any] = []
    for component, value in zip(outputs, values, strict=True):
        if isinstance(component, State):
            state.values[component.id] = value
            payloads.append(None)
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
    return payloads


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
    elif inspect.iscoroutinefunction(fn):
        yield await fn(*args)
    else:
        loop = asyncio.get_running_loop()
        yield await loop.run_in_executor(executor, context.run, fn, *args)


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
