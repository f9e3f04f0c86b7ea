"""`AsyncEngine`: the engine loop in its own thread, feeding asyncio queues.

The `Engine` is not thread-safe, so only the engine thread touches it. The asyncio side puts
commands (add a group of sequences, abort one) into an inbox under a condition variable; the
engine thread sleeps on that condition while it has nothing to do, and between steps it drains
the inbox, runs one step, and hands each stream its new tokens and text in one batch through
`loop.call_soon_threadsafe`. A step that raises fails only the API calls with a sequence in
it: each of their streams gets `StepFailedError` (a 500), their other sequences are aborted,
and the thread goes on serving everyone else. If the thread itself dies (or a step leaves
the engine unusable), every open stream gets `EngineDeadError` and every later submission is
refused, so no client waits forever. `stop()` ends the thread after
aborting what is still running; `start()` then runs a new one (a relaunched chat app), unless
the engine failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from jaxserve.engine.encoder_cache import EncoderCache
from jaxserve.engine.engine import Engine, PromptTooLong, StepFailed
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.multimodal.processor import ProcessedPrompt
from jaxserve.outputs import Logprob
from jaxserve.sampling_params import SamplingParams
from jaxserve.server.metrics import EncoderCacheCounts, EngineGauges, ServerMetrics

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SequenceSpec:
    """One sequence to generate: n > 1 or several prompts make several per API call."""

    prompt_token_ids: list[int]
    params: SamplingParams
    prompt: str | None = None
    priority: int = 0
    cache_salt: str | None = None
    images: ProcessedPrompt | None = None  # the prompt's images; prompt_token_ids hold them


@dataclasses.dataclass(frozen=True)
class SequenceUpdate:
    """What one sequence produced since its last update (a copy: safe across threads)."""

    index: int
    text: str  # new text
    token_ids: list[int]  # new tokens
    logprobs: list[dict[int, Logprob]] | None  # of the new tokens, if asked for
    finish_reason: str | None
    stop_reason: int | str | None
    num_prompt_tokens: int
    num_cached_tokens: int
    num_output_tokens: int  # so far
    # Of the prompt's tokens (None for the first), on a sequence's first update, if asked for.
    prompt_logprobs: list[dict[int, Logprob] | None] | None = None


class RequestRejected(ValueError):
    """The engine refused the request (bad parameters, prompt too long): a 400.

    `code`: OpenAI's error code where it has one (`context_length_exceeded`).
    """

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class GenerationFailed(RuntimeError):
    """The engine could not finish this call's sequences: a 500."""


class EngineDeadError(GenerationFailed):
    """The engine thread is gone (crashed or stopped): a 500 or 503."""


class StepFailedError(GenerationFailed):
    """A step with one of this call's sequences raised; the engine serves on."""


@dataclasses.dataclass
class _Group:
    """The sequences of one API call and the asyncio queue that receives their events."""

    group_id: str
    specs: list[SequenceSpec]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[SequenceUpdate | BaseException | None] = dataclasses.field(
        default_factory=asyncio.Queue
    )

    def request_id(self, index: int) -> str:
        return f"{self.group_id}-{index}"


@dataclasses.dataclass(eq=False)
class _Tracked:
    """The engine thread's view of one sequence it streams."""

    group: _Group
    index: int
    request: Request
    sent_tokens: int = 0
    sent_text: int = 0
    scheduled: bool = False
    last_token_time: float | None = None


class OutputStream:
    """The events of one API call, in order; `aclose()` aborts whatever has not finished."""

    def __init__(self, engine: AsyncEngine, group: _Group):
        self._engine = engine
        self._group = group
        self._open = set(range(len(group.specs)))

    async def accepted(self) -> None:
        """Waits until the engine thread took the request; raises what it refused it for."""
        event = await self._group.queue.get()
        if isinstance(event, BaseException):
            self._open.clear()
            raise event

    async def __aiter__(self) -> AsyncIterator[SequenceUpdate]:
        while self._open:
            event = await self._group.queue.get()
            if isinstance(event, BaseException):
                self._open.clear()
                raise event
            assert event is not None  # None only acknowledges the submission
            if event.finish_reason is not None:
                self._open.discard(event.index)
            yield event

    def aclose(self) -> None:
        """Aborts the unfinished sequences (the client left, or the handler failed)."""
        for index in self._open:
            self._engine.abort(self._group.request_id(index))
        self._open.clear()


class AsyncEngine:
    def __init__(self, engine: Engine, metrics: ServerMetrics, *, max_waiting_requests: int):
        self.engine = engine
        self.metrics = metrics
        self.max_waiting_requests = max_waiting_requests
        self._cond = threading.Condition()
        self._adds: list[_Group] = []
        self._aborts: list[str] = []
        self._unscheduled = 0  # sequences submitted and not yet running or ended
        self._stopping = False
        self._error: str | None = None
        self._tracked: dict[str, _Tracked] = {}
        self._ids = 0
        self._thread = threading.Thread(target=self._run, name="jaxserve-engine", daemon=True)

    # ---- asyncio side ----

    def start(self) -> None:
        """Starts the engine thread; after `stop()`, a new one (a relaunched server).

        Raises:
            RuntimeError: the thread is running already.
            EngineDeadError: the engine failed; it may be in any state, so it stays stopped.
        """
        with self._cond:
            if self._thread.is_alive():
                raise RuntimeError("the engine thread is running already")
            if self._error is not None:
                raise EngineDeadError(self._error)
            if self._thread.ident is not None:  # it ran and stopped: requests all ended then
                self._thread = threading.Thread(
                    target=self._run, name="jaxserve-engine", daemon=True
                )
                self._stopping = False
                self._aborts.clear()
            self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the engine thread is alive (it steps the engine; nothing else may)."""
        return self._thread.is_alive()

    @property
    def error(self) -> str | None:
        """Why the engine thread is not serving, or None while it is."""
        if self._error is None and not self._thread.is_alive():
            return "the engine thread is not running"
        return self._error

    def submit(self, specs: Sequence[SequenceSpec]) -> OutputStream:
        """Queues the sequences of one API call; raises `EngineDeadError` or `OverflowError`."""
        with self._cond:
            if self.error is not None or self._stopping:
                raise EngineDeadError(self.error or "the server is shutting down")
            waiting = self._unscheduled
            if waiting and waiting + len(specs) > self.max_waiting_requests:
                raise OverflowError(
                    f"{waiting} requests are already waiting "
                    f"(max_waiting_requests={self.max_waiting_requests}); retry later"
                )
            self._ids += 1
            group = _Group(f"cmpl-{self._ids}", list(specs), asyncio.get_running_loop())
            self._adds.append(group)
            self._unscheduled += len(specs)
            self._cond.notify()
        return OutputStream(self, group)

    def abort(self, request_id: str) -> None:
        with self._cond:
            self._aborts.append(request_id)
            self._cond.notify()

    def stop(self, timeout: float = 10.0) -> None:
        """Ends every request and the thread (the server has drained what it could)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def fail(self, message: str) -> None:
        """Ends the engine from outside (a lost peer process): from now on `error` is
        `message` (health checks fail with it), submissions are refused, and the engine
        thread, once it is free, ends every stream with `EngineDeadError(message)`."""
        with self._cond:
            self._error = message
            self._stopping = True
            self._cond.notify()

    # ---- engine thread ----

    def _run(self) -> None:
        adds: list[_Group] = []  # drained from the inbox, maybe not yet acknowledged
        try:
            while True:
                with self._cond:
                    while not (
                        self._adds or self._aborts or self._stopping or self.engine.has_unfinished()
                    ):
                        self._cond.wait()
                    adds, self._adds = self._adds, []
                    aborts, self._aborts = self._aborts, []
                    stopping = self._stopping
                self._apply(adds, aborts)
                adds = []
                if stopping:
                    self._fail_all(EngineDeadError(self._error or "the server shut down"))
                    return
                if self.engine.has_unfinished():
                    self._step()
                self._publish()
        except Exception as e:
            logger.exception("the engine thread failed; the server can no longer generate")
            self._die(f"the engine failed: {type(e).__name__}: {e}", adds)

    def _apply(self, adds: list[_Group], aborts: list[str]) -> None:
        deliveries: list[tuple[_Group, SequenceUpdate | BaseException | None]] = []
        for group in adds:
            added = []
            try:
                for index, spec in enumerate(group.specs):
                    request = self.engine.add_request(
                        spec.prompt_token_ids,
                        spec.params,
                        prompt=spec.prompt,
                        request_id=group.request_id(index),
                        priority=spec.priority,
                        cache_salt=spec.cache_salt,
                        **_image_fields(spec.images),
                    )
                    added.append(_Tracked(group, index, request))
            except ValueError as e:
                for tracked in added:
                    self.engine.abort(tracked.request.request_id)
                with self._cond:
                    self._unscheduled -= len(group.specs)
                code = "context_length_exceeded" if isinstance(e, PromptTooLong) else None
                deliveries.append((group, RequestRejected(str(e), code)))
                continue
            self._tracked.update((t.request.request_id, t) for t in added)
            deliveries.append((group, None))
        # After the adds: a client may leave before the engine thread has seen its request.
        for request_id in aborts:
            leaving = self._tracked.pop(request_id, None)
            if leaving is not None:
                self.engine.abort(request_id)
                self._ended(leaving)
        self._deliver(deliveries)

    def _step(self) -> None:
        started = time.monotonic()
        try:
            self.engine.step()
        except StepFailed as e:
            logger.error("%s; failing its %d sequence(s)", e, len(e.requests), exc_info=e)
            self._fail_step(e)
        now = time.monotonic()
        deliveries: list[tuple[_Group, SequenceUpdate | BaseException | None]] = []
        for request_id, tracked in list(self._tracked.items()):
            request = tracked.request
            if not tracked.scheduled and request.status is not RequestStatus.WAITING:
                tracked.scheduled = True
                with self._cond:
                    self._unscheduled -= 1
                self.metrics.on_scheduled(started - request.arrival_time, request.num_prompt_tokens)
            update = self._update(tracked, now)
            if update is None:
                continue
            deliveries.append((tracked.group, update))
            if request.finished:
                del self._tracked[request_id]
                self._ended(tracked)
        self._deliver(deliveries)

    def _fail_step(self, failure: StepFailed) -> None:
        """Ends every API call that had a sequence in the failed step, and only those."""
        groups: dict[int, _Group] = {}
        for request in failure.requests:
            tracked = self._tracked.pop(request.request_id, None)
            if tracked is not None:
                self._ended(tracked)
                groups[id(tracked.group)] = tracked.group
        for request_id, tracked in list(self._tracked.items()):
            if id(tracked.group) in groups:  # n > 1: the call's other sequences go too
                del self._tracked[request_id]
                self.engine.abort(request_id)
                self._ended(tracked)
        error = StepFailedError(str(failure))
        self._deliver([(group, error) for group in groups.values()])

    def _update(self, tracked: _Tracked, now: float) -> SequenceUpdate | None:
        request = tracked.request
        new_tokens = request.output_token_ids[tracked.sent_tokens :]
        if not new_tokens and not request.finished:
            return None
        if new_tokens:
            last = tracked.last_token_time
            self.metrics.on_tokens(
                len(new_tokens),
                ttft=now - request.arrival_time if last is None else None,
                itl=None if last is None else now - last,
            )
            tracked.last_token_time = now
        text = request.text
        visible = len(text)
        stops = request.params.stop_strings
        if stops and not request.finished:  # a stop string may still cut the tail
            visible = max(visible - max(len(s) for s in stops) + 1, tracked.sent_text)
        wants_logprobs = request.params.logprobs is not None
        first = tracked.sent_tokens == 0 and request.params.prompt_logprobs is not None
        update = SequenceUpdate(
            index=tracked.index,
            text=text[tracked.sent_text : visible],
            token_ids=list(new_tokens),
            logprobs=list(request.logprobs[tracked.sent_tokens :]) if wants_logprobs else None,
            finish_reason=request.finish_reason,
            stop_reason=request.stop_reason,
            num_prompt_tokens=request.num_prompt_tokens,
            num_cached_tokens=request.num_cached_tokens,
            num_output_tokens=len(request.output_token_ids),
            prompt_logprobs=list(request.prompt_logprobs) if first else None,
        )
        tracked.sent_tokens += len(new_tokens)
        tracked.sent_text = visible
        return update

    def _ended(self, tracked: _Tracked) -> None:
        request = tracked.request
        if not tracked.scheduled:
            with self._cond:
                self._unscheduled -= 1
            tracked.scheduled = True
        latency = (request.finish_time or time.monotonic()) - request.arrival_time
        self.metrics.on_finished(request.finish_reason or "abort", latency)

    def _publish(self) -> None:
        scheduler, blocks = self.engine.scheduler, self.engine.blocks
        self.metrics.publish(
            EngineGauges(
                num_running=len(scheduler.running),
                num_waiting=len(scheduler.waiting),
                kv_cache_usage=blocks.usage,
                prefix_cache_queries=blocks.prefix_queries,
                prefix_cache_hits=blocks.prefix_hits,
                num_preemptions=scheduler.num_preemptions,
                encoder_cache=_encoder_counts(self.engine.encoder_cache),
            )
        )

    def _deliver(self, items: list[tuple[_Group, SequenceUpdate | BaseException | None]]) -> None:
        """Hands events to their queues: one wake-up per event loop, not one per event."""
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for group, event in items:
            by_loop.setdefault(group.loop, []).append((group.queue, event))
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening
                loop.call_soon_threadsafe(_put_all, batch)

    def _fail_all(self, error: BaseException) -> None:
        """Ends every sequence in the engine with `error` for its stream."""
        for request_id, tracked in list(self._tracked.items()):
            self.engine.abort(request_id)
            self._ended(tracked)
        groups = {id(t.group): t.group for t in self._tracked.values()}
        self._tracked.clear()
        with self._cond:
            groups |= {id(g): g for g in self._adds}
            self._adds.clear()
            self._unscheduled = 0
        self._deliver([(group, error) for group in groups.values()])
        self._publish()

    def _die(self, message: str, drained: list[_Group]) -> None:
        error = EngineDeadError(message)
        with self._cond:
            self._error = message
        try:
            self._fail_all(error)
        except Exception:  # the engine is broken: still tell every stream
            logger.exception("could not abort the requests of the failed engine")
        groups = {id(t.group): t.group for t in self._tracked.values()}
        groups |= {id(g): g for g in drained}
        self._deliver([(g, error) for g in groups.values()])


def _put_all(batch: list[tuple[asyncio.Queue, SequenceUpdate | BaseException | None]]) -> None:
    for queue, event in batch:
        queue.put_nowait(event)


def _image_fields(images: ProcessedPrompt | None) -> dict[str, Any]:
    """`Engine.add_request`'s image arguments for a prompt's processed images."""
    if images is None:
        return {}
    return {
        "mm_inputs": images.mm_inputs,
        "mrope_positions": images.mrope_positions,
        "mrope_delta": images.mrope_delta,
    }


def _encoder_counts(cache: EncoderCache | None) -> EncoderCacheCounts | None:
    if cache is None:
        return None
    return EncoderCacheCounts(
        queries=cache.queries,
        hits=cache.hits,
        encoded_images=cache.encoded_images,
        encoded_tokens=cache.encoded_tokens,
        usage_tokens=cache.num_tokens,
    )
