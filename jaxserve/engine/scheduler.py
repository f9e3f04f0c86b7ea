"""`Scheduler`: decides which tokens each step computes (vLLM v1's rule).

There is no prefill phase and decode phase. Every request knows how many of its tokens are
in the KV cache (`num_computed_tokens`) and how many exist (`num_tokens`); each step hands
out a token budget so the computed counts catch up: running requests first (a decode token,
or the next chunk of a long prompt), then waiting ones in policy order. When the pool runs
out of pages, the lowest-priority running request is preempted: its pages are freed and it
will be recomputed later (mostly from the prefix cache).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import deque
from typing import Literal

from jaxserve.engine.block_manager import BlockManager
from jaxserve.engine.request import Request, RequestStatus

Policy = Literal["fcfs", "priority"]


@dataclasses.dataclass
class ScheduledChunk:
    request: Request
    start: int  # num_computed_tokens when scheduled
    num_tokens: int

    @property
    def end(self) -> int:
        return self.start + self.num_tokens


@dataclasses.dataclass
class SchedulerOutput:
    chunks: list[ScheduledChunk]
    preempted: list[Request]

    @property
    def num_batched_tokens(self) -> int:
        return sum(c.num_tokens for c in self.chunks)


class WaitingQueue:
    """Requests not running, in the order the policy admits them."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self._fifo: deque[Request] = deque()
        self._heap: list[tuple[int, float, int, Request]] = []
        self._tiebreak = itertools.count()

    def __len__(self) -> int:
        return len(self._fifo) + len(self._heap)

    def __iter__(self):
        if self.policy == "fcfs":
            return iter(self._fifo)
        return (entry[-1] for entry in sorted(self._heap))

    def push(self, request: Request, *, front: bool = False) -> None:
        if self.policy == "fcfs":
            (self._fifo.appendleft if front else self._fifo.append)(request)
        else:
            key = (request.priority, request.arrival_time, next(self._tiebreak), request)
            heapq.heappush(self._heap, key)

    def peek(self) -> Request:
        return self._fifo[0] if self.policy == "fcfs" else self._heap[0][-1]

    def pop(self) -> Request:
        return self._fifo.popleft() if self.policy == "fcfs" else heapq.heappop(self._heap)[-1]

    def remove(self, request: Request) -> None:
        if self.policy == "fcfs":
            self._fifo.remove(request)
        else:
            self._heap = [e for e in self._heap if e[-1] is not request]
            heapq.heapify(self._heap)


class Scheduler:
    def __init__(
        self,
        blocks: BlockManager,
        *,
        max_num_seqs: int,
        max_num_batched_tokens: int,
        policy: Policy = "fcfs",
    ):
        if policy not in ("fcfs", "priority"):
            raise ValueError(f"scheduling policy must be 'fcfs' or 'priority', got {policy!r}")
        self.blocks = blocks
        self.max_num_seqs = max_num_seqs
        self.max_num_batched_tokens = max_num_batched_tokens
        self.policy = policy
        self.waiting = WaitingQueue(policy)
        self.running: list[Request] = []
        self.requests: dict[str, Request] = {}
        self.num_preemptions = 0

    def add(self, request: Request) -> None:
        if request.request_id in self.requests:
            raise ValueError(f"request id {request.request_id!r} is already in use")
        self.requests[request.request_id] = request
        self.waiting.push(request)

    def has_unfinished(self) -> bool:
        return bool(self.requests)

    def finish(self, request: Request, status: RequestStatus) -> None:
        """Ends a request in `status` (if not ended already) and frees its pages."""
        if request.request_id not in self.requests:
            return
        if request in self.running:
            self.running.remove(request)
        elif request.status in (RequestStatus.WAITING, RequestStatus.PREEMPTED):
            self.waiting.remove(request)
        if not request.finished:
            request.move_to(status)
        self.blocks.free(request)
        del self.requests[request.request_id]

    def abort(self, request_id: str) -> Request | None:
        request = self.requests.get(request_id)
        if request is not None:
            self.finish(request, RequestStatus.FINISHED_ABORTED)
        return request

    def preempt(self, request: Request) -> None:
        """Frees a running request's pages and queues it for recomputation."""
        self.running.remove(request)
        self.blocks.free(request)
        request.num_computed_tokens = 0
        request.num_preemptions += 1
        request.move_to(RequestStatus.PREEMPTED)
        self.waiting.push(request, front=True)
        self.num_preemptions += 1

    def _victim(self) -> Request:
        if self.policy == "fcfs":
            return self.running[-1]
        return max(self.running, key=lambda r: (r.priority, r.arrival_time))

    def schedule(self) -> SchedulerOutput:
        budget = self.max_num_batched_tokens
        chunks: dict[str, ScheduledChunk] = {}
        preempted: list[Request] = []

        i = 0
        while i < len(self.running) and budget > 0:
            request = self.running[i]
            n = min(request.num_tokens - request.num_computed_tokens, budget)
            if n <= 0:
                i += 1
                continue
            while not self.blocks.allocate_slots(request, n):
                victim = self._victim()
                if victim.request_id in chunks:  # scheduled earlier this step: undo it
                    budget += chunks.pop(victim.request_id).num_tokens
                    i -= 1
                self.preempt(victim)
                preempted.append(victim)
                if victim is request:
                    break
            else:
                chunks[request.request_id] = ScheduledChunk(request, request.num_computed_tokens, n)
                budget -= n
                i += 1

        while (
            not preempted and self.waiting and budget > 0 and len(self.running) < self.max_num_seqs
        ):
            request = self.waiting.peek()
            hits, num_cached = self.blocks.get_computed_blocks(request)
            n = min(request.num_tokens - num_cached, budget)
            if not self.blocks.allocate_slots(request, n, hits):
                break
            self.waiting.pop()
            request.num_computed_tokens = num_cached
            request.num_cached_tokens = num_cached
            request.move_to(RequestStatus.RUNNING)
            self.running.append(request)
            chunks[request.request_id] = ScheduledChunk(request, num_cached, n)
            budget -= n
        return SchedulerOutput(list(chunks.values()), preempted)
