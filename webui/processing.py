"""Running one event: payloads in, the user's function, payloads out; plain or streaming."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from typing import Any

from webui.components.misc import State
from webui.errors import Error
from webui.events import Dependency

SessionState = dict[int, Any]  # State component id -> this session's value
_EXHAUSTED = object()


def preprocess(dependency: Dependency, data: list[Any], state: SessionState) -> list[Any]:
    """The arguments for `fn`: State inputs come from the session, never from the client."""
    if not isinstance(data, list) or len(data) != len(dependency.inputs):
        count = len(data) if isinstance(data, list) else type(data).__name__
        raise Error(f"/{dependency.api_name} takes {len(dependency.inputs)} inputs, got {count}")
    args = []
    for component, payload in zip(dependency.inputs, data, strict=True):
        if isinstance(component, State):
            if component.id not in state:
                state[component.id] = component.initial_value()
            args.append(state[component.id])
        else:
            args.append(component.preprocess(payload))
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
    payloads = []
    for component, value in zip(outputs, values, strict=True):
        if isinstance(component, State):
            state[component.id] = value
            payloads.append(None)
        else:
            payloads.append(component.postprocess(value))
    return payloads


async def _next_in_thread(executor: Executor, iterator: Iterator[Any]) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, next, iterator, _EXHAUSTED)


async def results(
    dependency: Dependency, args: list[Any], executor: Executor
) -> AsyncIterator[Any]:
    """Each value `fn` produces: one for a plain function, one per yield for a generator.

    Sync code runs in `executor` so a slow function never stalls the event loop; async code
    runs on the loop itself. A generator is closed here when the consumer stops early (cancel).
    """
    fn = dependency.fn
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
            while (value := await _next_in_thread(executor, gen)) is not _EXHAUSTED:
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
        yield await loop.run_in_executor(executor, lambda: fn(*args))


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
