"""The event queue: join, run under per-event concurrency limits, and stream messages.

Story: `join` registers an event and starts one asyncio task for it at once (no polling loop).
The task waits on its concurrency group's semaphore, runs the function (threads for sync code),
and puts sse_v3 messages on a sink: the session's channel, read by `GET /queue/data`, or a
private queue for the `/call` REST API. When an event ends, every per-event structure is
dropped; a session's channel goes when its stream closes with nothing pending. Only session
state (`State` values, components changed by updates) outlives events, in an LRU of sessions
capped in size and expired after `session_ttl_s` without use.

A `.stream()` event lives as long as its stream: the page sends it chunk after chunk (see
`webui.stream_inputs`), and each result goes out as a `process_streaming` message.

A `Timer.tick` event is server-driven: one join starts a loop that calls `fn` every `value`
seconds and streams each result as a `process_generating` message, until it is cancelled, the
session's Timer is deactivated, or nobody reads the stream.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from webui.caching import current_session
from webui.diff import diff
from webui.errors import Error
from webui.processing import (
    SessionState,
    Trigger,
    error_payload,
    postprocess,
    preprocess,
    results,
)
from webui.progress import Reporter, current_reporter
from webui.session_end import delete_state_values
from webui.stream_inputs import StreamInput, stream_chunks
from webui.stream_outputs import OutputStreams

if TYPE_CHECKING:
    from webui.events import Dependency
    from webui.root import Root
    from webui.timer import Timer

Message = dict[str, Any]
logger = logging.getLogger(__name__)
SESSION_TTL_S = 3600.0  # as Gradio, which keeps a session's state an hour after it leaves
MAX_UNREAD_TICKS = 20  # a tick loop whose stream holds this many unread messages has no reader


class QueueFull(Exception):  # reported as HTTP 503
    """Raised by `join` when `max_size` events are already waiting or running."""


@dataclass(eq=False)
class Channel:
    """A session's messages for `GET /queue/data`, and its events not yet completed."""

    messages: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    pending: set[str] = field(default_factory=set)


@dataclass(eq=False)
class Event:
    id: str
    session_hash: str
    dependency: Dependency
    data: list[Any]
    sink: asyncio.Queue[Message]
    diffs: bool
    trigger: Trigger | None = None  # the firing block, event_data and request
    render_config: dict[str, Any] | None = None  # what a gr.render event built
    task: asyncio.Task[None] | None = None
    stream: StreamInput | None = None  # a .stream() event's chunk signal


class EventQueue:
    """All queued work of one Blocks app; lives on the server's event loop."""

    def __init__(
        self,
        blocks: Root,
        *,
        max_sessions: int = 10_000,
        session_ttl_s: float = SESSION_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.blocks = blocks
        self.settings = blocks.queue_settings
        self.events: dict[str, Event] = {}
        self.channels: dict[str, Channel] = {}
        self.states: OrderedDict[str, SessionState] = OrderedDict()  # least recently used first
        self.max_sessions = max_sessions
        self.session_ttl_s = session_ttl_s
        self.clock = clock
        # /call step 1 results waiting for step 2, oldest dropped past the cap like Gradio's LRU.
        self.call_sinks: OrderedDict[str, asyncio.Queue[Message]] = OrderedDict()
        self.max_call_sinks = 2000
        self._semaphores: dict[str, asyncio.Semaphore | None] = {}
        self._durations: dict[int, tuple[float, int]] = {}

    def bookkeeping(self) -> dict[str, int]:
        """Sizes of the per-event structures: all zero when the server is idle."""
        return {
            "events": len(self.events),
            "channels": len(self.channels),
            "call_sinks": len(self.call_sinks),
        }

    def session_state(self, session_hash: str) -> SessionState:
        now = self.clock()
        self.expire_sessions(now)
        state = self.states.pop(session_hash, None) or SessionState()
        state.last_used = now
        self.states[session_hash] = state  # most recently used goes last
        while len(self.states) > self.max_sessions:
            self._drop(self.states.popitem(last=False)[1])
        return state

    def _drop(self, state: SessionState) -> None:
        """A forgotten session's State values go to their delete_callbacks, off the loop."""
        if state.values:
            self.blocks.executor.submit(delete_state_values, self.blocks, state)

    def expire_sessions(self, now: float | None = None) -> int:
        """Forget sessions unused for `session_ttl_s`; returns how many went."""
        cutoff = (self.clock() if now is None else now) - self.session_ttl_s
        expired = 0
        while self.states:
            oldest = next(iter(self.states.values()))
            if oldest.last_used >= cutoff:
                break
            self._drop(self.states.popitem(last=False)[1])
            expired += 1
        return expired

    def _semaphore(self, dependency: Dependency) -> asyncio.Semaphore | None:
        key = dependency.concurrency_id
        if key not in self._semaphores:
            limit = dependency.concurrency_limit
            if limit == "default":
                limit = self.settings.default_concurrency_limit
            self._semaphores[key] = None if limit is None else asyncio.Semaphore(limit)
        return self._semaphores[key]

    def join_call(
        self,
        dependency: Dependency,
        data: list[Any],
        session_hash: str,
        trigger: Trigger | None = None,
    ) -> Event:
        """Start an event for the /call REST API: full values, no diffs, read by event id."""
        sink: asyncio.Queue[Message] = asyncio.Queue()
        event = self.join(dependency, data, session_hash, sink=sink, diffs=False, trigger=trigger)
        self.call_sinks[event.id] = sink
        while len(self.call_sinks) > self.max_call_sinks:
            self.call_sinks.popitem(last=False)
        return event

    def join(
        self,
        dependency: Dependency,
        data: list[Any],
        session_hash: str,
        *,
        sink: asyncio.Queue[Message] | None = None,
        diffs: bool = True,
        trigger: Trigger | None = None,
    ) -> Event:
        """Start an event; with no `sink` its messages go to the session's channel."""
        if self.settings.max_size is not None and len(self.events) >= self.settings.max_size:
            raise QueueFull(f"Queue is full. Max size is {self.settings.max_size}.")
        event_id = uuid.uuid4().hex
        if sink is None:
            channel = self.channels.setdefault(session_hash, Channel())
            channel.pending.add(event_id)
            sink = channel.messages
        event = Event(event_id, session_hash, dependency, data, sink, diffs=diffs, trigger=trigger)
        if dependency.connection == "stream":
            event.stream = StreamInput()
        self._cancel_targets(event)
        self.events[event_id] = event
        rank = len(self.events) - 1
        sink.put_nowait(
            {
                "msg": "estimation",
                "event_id": event_id,
                "rank": rank,
                "queue_size": len(self.events),
                "rank_eta": None,
            }
        )
        event.task = asyncio.create_task(self._process(event), name=f"webui-event-{event_id}")
        return event

    def _cancel_targets(self, event: Event) -> None:
        """`cancels=[...]`: a new event stops its session's running events of those fns."""
        if not event.dependency.cancels:
            return
        targets = set(event.dependency.cancels)
        for other in list(self.events.values()):
            if other.session_hash == event.session_hash and other.dependency.id in targets:
                self.cancel(other.id, event.session_hash)

    def cancel(self, event_id: str, session_hash: str | None) -> bool:
        event = self.events.get(event_id)
        if event is None or (session_hash is not None and event.session_hash != session_hash):
            return False
        if event.task is not None:
            event.task.cancel()
        return True

    async def _process(self, event: Event) -> None:
        semaphore = self._semaphore(event.dependency)
        started = time.perf_counter()
        try:
            if semaphore is None:
                await self._run(event, started)
            else:
                async with semaphore:
                    await self._run(event, started)
        except asyncio.CancelledError:
            self._finish(
                event,
                {"msg": "process_completed", "event_id": event.id, "output": {}, "success": True},
            )
        except Exception as error:
            if not isinstance(error, Error):
                logger.exception("event /%s failed", event.dependency.api_name)
            output = error_payload(error, self.blocks.show_error)
            title = output.get("title")
            self._finish(
                event,
                {
                    "msg": "process_completed",
                    "event_id": event.id,
                    "output": output,
                    "success": False,
                    "title": title,
                },
            )

    async def _run(self, event: Event, started: float) -> None:
        dependency = event.dependency
        event.sink.put_nowait({"msg": "process_starts", "event_id": event.id, "eta": None})
        # The task runs in its own context, so this reporter is seen by this event's fn only.
        current_reporter.set(Reporter(event.id, event.sink, asyncio.get_running_loop()))
        current_session.set(event.session_hash)  # gr.cache(per_session=True) keys by it
        previous: list[Any] | None = None
        generating = dependency.is_generator or event.stream is not None
        timer = dependency.timer
        if event.stream is not None:
            outputs = stream_chunks(event, event.stream, self._outputs)
        else:
            outputs = self._outputs(event) if timer is None else self._ticks(event, timer)
        kind = "process_generating" if event.stream is None else "process_streaming"
        state = self.session_state(event.session_hash)
        media = OutputStreams(dependency, state, event.session_hash, event.id)
        async for payloads in outputs:
            if media:
                payloads = media.chunk(payloads)
            if generating:
                sent = (
                    payloads
                    if previous is None or not event.diffs or event.stream is not None
                    else [diff(old, new) for old, new in zip(previous, payloads, strict=True)]
                )
                event.sink.put_nowait(self._message(kind, event, sent, started, generating=True))
            previous = payloads
        final = previous if previous is not None else [None] * len(dependency.outputs)
        if media:
            final = media.final(final)
        self._record(dependency, time.perf_counter() - started)
        self._finish(
            event, self._message("process_completed", event, final, started, generating=False)
        )

    async def _outputs(self, event: Event) -> AsyncIterator[list[Any]]:
        """The payloads of each result of one call of the event's fn."""
        state = self.session_state(event.session_hash)
        args = preprocess(event.dependency, event.data, state, event.trigger)
        renderable = event.dependency.renderable
        if renderable is not None:
            loop, context = asyncio.get_running_loop(), contextvars.copy_context()
            event.render_config = await loop.run_in_executor(
                self.blocks.executor, context.run, renderable.apply, state, args
            )
            yield []
            return
        async for result in results(event.dependency, args, self.blocks.executor):
            yield postprocess(event.dependency, result, state)

    async def _ticks(self, event: Event, timer: Timer) -> AsyncIterator[list[Any]]:
        """One call of fn per tick of `timer`, at the interval that session's Timer has; a
        `load(every=...)` event also calls it once at the start, as the page opens."""
        on_load = any(kind == "load" for _, kind in event.dependency.targets)
        while True:
            session_timer = self.session_state(event.session_hash).component(timer)
            if not on_load and (not session_timer.active or session_timer.value is None):
                return
            if not on_load:
                await asyncio.sleep(session_timer.value)
            on_load = False
            if event.sink.qsize() >= MAX_UNREAD_TICKS:
                logger.info("tick event /%s stopped: nobody reads it", event.dependency.api_name)
                return
            last = None
            async for payloads in self._outputs(event):
                last = payloads
            if last is not None:
                yield last

    def _message(
        self, kind: str, event: Event, data: list[Any], started: float, *, generating: bool
    ) -> Message:
        duration = time.perf_counter() - started
        output = {
            "data": data,
            "is_generating": generating,
            "duration": duration,
            "average_duration": self._average(event.dependency),
            "render_config": event.render_config,
            "changed_state_ids": self._changed_states(event),
            "used_cache": None,
        }
        message = {"msg": kind, "event_id": event.id, "output": output, "success": True}
        if kind == "process_completed":
            message["title"] = None
        elif event.stream is not None:
            message["time_limit"] = event.stream.time_limit_left(event.dependency.time_limit)
        else:
            message["time_limit"] = None
        return message

    def _changed_states(self, event: Event) -> list[int]:
        """The session's State ids whose value changed since its last message (their `.change`
        listeners fire in the page)."""
        state = self.states.get(event.session_hash)
        if state is None or not state.changed_state_ids:
            return []
        changed = sorted(state.changed_state_ids)
        state.changed_state_ids.clear()
        return changed

    def _finish(self, event: Event, message: Message) -> None:
        """Drop the event's bookkeeping before its last message, so a reader seeing that
        message can tell whether the session still has work pending."""
        self.events.pop(event.id, None)
        channel = self.channels.get(event.session_hash)
        if channel is not None:
            channel.pending.discard(event.id)
        event.sink.put_nowait(message)

    def _record(self, dependency: Dependency, seconds: float) -> None:
        total, count = self._durations.get(dependency.id, (0.0, 0))
        self._durations[dependency.id] = (total + seconds, count + 1)

    def _average(self, dependency: Dependency) -> float | None:
        total, count = self._durations.get(dependency.id, (0.0, 0))
        return total / count if count else None

    def close_channel_if_idle(self, session_hash: str, channel: Channel) -> bool:
        """Forget a session's channel once nothing is pending or unread in it."""
        if channel.pending or not channel.messages.empty():
            return False
        if self.channels.get(session_hash) is channel:
            del self.channels[session_hash]
        return True
