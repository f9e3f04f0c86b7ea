"""`EngineWorker`: one engine in a role (prefill, decode or both), stepped by its own thread.

The story of a worker: callers on any thread (Ray's, for an actor) put commands on the
`inbox` queue; the engine thread alone touches the engine: it runs the commands (queue a
prompt, queue a hand-off), steps while anything is unfinished, and routes what a step made:
a prefill worker resolves the caller's `Future` with the request's `Handoff`; a decode or
both-role worker puts each request's new tokens on that request's own `queue.Queue`, which
the caller's generator drains. A failed step fails its requests' futures and streams (their
callers raise `WorkerError`) and the thread goes on with the others.

In `jaxserve.disagg.ray` each worker is a Ray actor in its own process; a hand-off returned
by a prefill actor goes into Ray's object store and reaches the decode actor from there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Literal

from jaxserve.engine.engine import EngineUnusable, StepFailed
from jaxserve.engine.handoff import DecodeEngine, Handoff, PrefillEngine
from jaxserve.engine.request import Request
from jaxserve.sampling_params import SamplingParams

logger = logging.getLogger(__name__)

Role = Literal["prefill", "decode", "both"]
ROLES = ("prefill", "decode", "both")


class WorkerError(RuntimeError):
    """The worker's engine failed the request (or could not take it)."""


@dataclasses.dataclass(frozen=True)
class TokenDelta:
    """New tokens of one request since its last delta; `finish_reason` on the last one."""

    token_ids: list[int]
    text: str
    finish_reason: str | None = None


_END = object()  # on a request's stream after its last delta


@dataclasses.dataclass
class _Stream:
    request: Request
    out: queue.Queue  # TokenDelta, then a WorkerError or _END
    sent_tokens: int = 0
    sent_chars: int = 0


class EngineWorker:
    """An engine of one role behind a thread-safe interface.

    Args:
        model: the checkpoint directory, as for `jaxserve.LLM`.
        role: "prefill" (prompts in, hand-offs out), "decode" (hand-offs in, tokens out) or
            "both" (one engine: prompts in, tokens out).
        llm_options: keyword arguments of `jaxserve.LLM`.
    """

    def __init__(self, model: str | os.PathLike[str], role: Role, **llm_options):
        from jaxserve.llm import LLM  # loads JAX: only in the process that runs the engine

        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.role = role
        self.llm = LLM(model, **llm_options)
        engine = self.llm.engine
        self._prefill = PrefillEngine(engine) if role == "prefill" else None
        self._decode = DecodeEngine(engine) if role == "decode" else None
        self._futures: dict[str, Future[Handoff]] = {}
        self._streams: dict[str, _Stream] = {}
        self.inbox: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"engine-{role}", daemon=True)
        self._thread.start()

    def ready(self) -> str:
        """The role, once the engine is loaded (Ray: wait on this before sending work)."""
        return self.role

    def num_unfinished(self) -> int:
        """Requests this worker holds (a snapshot: read off the engine thread)."""
        pending = len(self._decode.pending) if self._decode is not None else 0
        return pending + len(self.llm.engine.scheduler.requests)

    def close(self) -> None:
        self.inbox.put(None)
        self._thread.join()

    # Callers' side -----------------------------------------------------------------------

    def prefill(
        self,
        request_id: str,
        prompt_token_ids: list[int],
        params: SamplingParams,
        cache_salt: str | None = None,
    ) -> Handoff:
        """The request's `Handoff` once its prompt is computed (prefill role; blocks)."""
        self._check_role("prefill")
        future: Future[Handoff] = Future()

        def add() -> None:
            assert self._prefill is not None
            self._prefill.add_request(
                prompt_token_ids, params, request_id=request_id, cache_salt=cache_salt
            )
            self._futures[request_id] = future

        self._submit(add, future)
        return future.result()

    def decode(self, handoff: Handoff) -> Iterator[TokenDelta]:
        """The request's tokens after its prompt, as they come (decode role)."""
        self._check_role("decode")
        yield from self._stream(lambda: self._decode.add_handoff(handoff))  # type: ignore[union-attr]

    def generate(
        self, request_id: str, prompt_token_ids: list[int], params: SamplingParams
    ) -> Iterator[TokenDelta]:
        """The request's tokens as they come, from one engine (role "both")."""
        self._check_role("both")
        engine = self.llm.engine
        yield from self._stream(
            lambda: engine.add_request(prompt_token_ids, params, request_id=request_id)
        )

    def abort(self, request_id: str) -> None:
        """Ends the request wherever it is (its caller's stream ends with "abort")."""

        def run() -> None:
            engine = self._prefill or self._decode or self.llm.engine
            engine.abort(request_id)
            future = self._futures.pop(request_id, None)
            if future is not None:
                future.set_exception(WorkerError(f"request {request_id!r} was aborted"))
            self._send_tokens()

        self.inbox.put(run)

    def _check_role(self, wanted: Role) -> None:
        if self.role != wanted:
            raise WorkerError(f"this worker's role is {self.role!r}, not {wanted!r}")

    def _submit(self, add: Callable[[], None], failed: Future) -> None:
        def run() -> None:
            try:
                add()
            except Exception as e:
                failed.set_exception(WorkerError(str(e)))

        self.inbox.put(run)

    def _stream(self, add: Callable[[], Request]) -> Iterator[TokenDelta]:
        out: queue.Queue = queue.Queue()

        def run() -> None:
            try:
                request = add()
            except Exception as e:
                out.put(WorkerError(str(e)))
                return
            self._streams[request.request_id] = _Stream(request, out)

        self.inbox.put(run)
        while True:
            item = out.get()
            if item is _END:
                return
            if isinstance(item, WorkerError):
                raise item
            yield item

    # The engine thread -------------------------------------------------------------------

    def _loop(self) -> None:
        engine = self._prefill or self._decode or self.llm.engine
        while True:
            commands = [] if engine.has_unfinished() else [self.inbox.get()]  # idle: wait
            with contextlib.suppress(queue.Empty):
                while True:  # every queued command goes in before the next step
                    commands.append(self.inbox.get_nowait())
            for command in commands:
                if command is None:
                    return
                command()
            if engine.has_unfinished():
                self._step()

    def _step(self) -> None:
        try:
            if self._prefill is not None:
                handoffs, ended = self._prefill.step()
                for handoff in handoffs:
                    self._futures.pop(handoff.request_id).set_result(handoff)
                for request in ended:
                    self._fail([request], f"ended with {request.finish_reason}")
                return
            stepper = self._decode or self.llm.engine
            stepper.step()
        except StepFailed as e:
            logger.exception("a %s step failed", self.role)
            self._fail(e.requests, str(e))
        except EngineUnusable as e:
            logger.exception("the %s engine is unusable", self.role)
            for future in self._futures.values():
                future.set_exception(WorkerError(str(e)))
            for stream in self._streams.values():
                stream.out.put(WorkerError(str(e)))
            self._futures.clear()
            self._streams.clear()
            raise
        self._send_tokens()

    def _send_tokens(self) -> None:
        for request_id, stream in list(self._streams.items()):
            request = stream.request
            tokens = request.output_token_ids[stream.sent_tokens :]
            text = request.text[stream.sent_chars :]
            if tokens or request.finished:
                stream.sent_tokens += len(tokens)
                stream.sent_chars += len(text)
                stream.out.put(TokenDelta(tokens, text, request.finish_reason))
            if request.finished:
                stream.out.put(_END)
                del self._streams[request_id]

    def _fail(self, requests: list[Request], message: str) -> None:
        for request in requests:
            future = self._futures.pop(request.request_id, None)
            if future is not None:
                future.set_exception(WorkerError(message))
            stream = self._streams.pop(request.request_id, None)
            if stream is not None:
                stream.out.put(WorkerError(message))
