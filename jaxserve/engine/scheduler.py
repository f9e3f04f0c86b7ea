"""`Scheduler`: decides which tokens each step computes (vLLM v1's rule).

There is no prefill phase and decode phase. Every request knows how many of its tokens are
in the KV cache (`num_computed_tokens`) and how many exist (`num_tokens`); each step hands
out a token budget so the computed counts catch up: running requests first (a decode token,
or the next chunk of a long prompt), then waiting ones in policy order. When the pool runs
out of pages, the lowest-priority running request is preempted: its pages are freed and it
will be recomputed later (mostly from the prefix cache).

Images cost encoder work as well as tokens. A chunk that reaches an image's placeholder tokens
needs the image's embeddings: found in the encoder cache, or encoded in this step. Each step
encodes images up to `max_num_encoder_tokens` embedding rows (the first image of a step always
goes, however large), and only while the encoder cache has room beside the images that running
requests still need; a chunk that would reach an image past those limits stops just before it,
so a prompt with many images is computed over several steps while the others keep decoding.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import deque
from typing import Literal

from jaxserve.engine.block_manager import BlockManager
from jaxserve.engine.encoder_cache import EncoderCache
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.multimodal.inputs import MultiModalInput

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
    to_encode: list[MultiModalInput] = dataclasses.field(default_factory=list)  # distinct

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
        encoder_cache: EncoderCache | None = None,
        max_num_encoder_tokens: int | None = None,
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
        self.encoder_cache = encoder_cache
        self.max_num_encoder_tokens = max_num_encoder_tokens or max_num_batched_tokens

    def add(self, request: Request) -> None:
        if request.request_id in self.requests:
            raise ValueError(f"request id {request.request_id!r} is already in use")
        self.requests[request.request_id] = request
        self.waiting.push(request)

    def admit_computed(self, request: Request) -> bool:
        """Starts a request whose prompt K/V another engine computed (a hand-off).

        It runs at once with its whole prompt counted as computed: its prompt's pages are
        the prefix-cache hits plus new pages, into which the caller writes the K/V from
        page `request.num_cached_tokens // page_size` on, before the next step. False,
        changing nothing, when no sequence slot or too few pages are free.
        """
        if request.request_id in self.requests:
            raise ValueError(f"request id {request.request_id!r} is already in use")
        if len(self.running) >= self.max_num_seqs:
            return False
        hits, num_cached = self.blocks.get_computed_blocks(request)
        if not self.blocks.allocate_slots(request, request.num_tokens - num_cached, hits):
            return False
        self.requests[request.request_id] = request
        request.num_computed_tokens = request.num_tokens
        request.num_cached_tokens = num_cached
        request.move_to(RequestStatus.RUNNING)
        self.running.append(request)
        return True

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
        self._unpin(request, everything=True)
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
        self._unpin(request, everything=True)
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
        encoding: dict[str, MultiModalInput] = {}  # content hash -> image encoded this step

        i = 0
        while i < len(self.running) and budget > 0:
            request = self.running[i]
            n = min(request.num_tokens - request.num_computed_tokens, budget)
            if request.mm_inputs:
                n = self._fit_images(request, request.num_computed_tokens, n, encoding)
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
            if request.mm_inputs:
                n = self._fit_images(request, num_cached, n, encoding)
            if n <= 0 or not self.blocks.allocate_slots(request, n, hits):
                break
            self.waiting.pop()
            request.num_computed_tokens = num_cached
            request.num_cached_tokens = num_cached
            request.move_to(RequestStatus.RUNNING)
            self.running.append(request)
            chunks[request.request_id] = ScheduledChunk(request, num_cached, n)
            budget -= n
        self._pin_images(chunks.values())
        scheduled = {c.request.request_id for c in chunks.values()}
        to_encode = [
            item
            for item in encoding.values()
            if any(rid in scheduled for rid in self._wanted_by(item, chunks.values()))
        ]
        return SchedulerOutput(list(chunks.values()), preempted, to_encode)

    def _fit_images(
        self, request: Request, start: int, n: int, encoding: dict[str, MultiModalInput]
    ) -> int:
        """How many of the `n` tokens from `start` this step can compute, given the images
        their placeholders reach: each one cached, already being encoded this step, or
        encodable within the step's encoder budget and the cache's room; the chunk stops
        before the first image that is none of these. Adds the images it encodes to
        `encoding`."""
        cache = self.encoder_cache
        if cache is None:
            return n
        for item in request.mm_inputs:
            placeholder = item.placeholder
            if placeholder.end <= start or placeholder.offset >= start + n:
                continue  # not reached by this chunk
            if item.content_hash in cache or item.content_hash in encoding:
                continue
            pending = sum(i.features.num_tokens for i in encoding.values())
            size = item.features.num_tokens
            within_budget = not encoding or pending + size <= self.max_num_encoder_tokens
            if not (within_budget and cache.can_fit(size, pending)):
                return max(placeholder.offset - start, 0)
            encoding[item.content_hash] = item
        return n

    @staticmethod
    def _wanted_by(item: MultiModalInput, chunks) -> list[str]:
        return [
            c.request.request_id
            for c in chunks
            if any(
                i.content_hash == item.content_hash
                and i.placeholder.offset < c.end
                and i.placeholder.end > c.start
                for i in c.request.mm_inputs
            )
        ]

    def _pin_images(self, chunks) -> None:
        """Each scheduled chunk's request holds the images its chunk reaches until its
        computed tokens pass them (`release_images`)."""
        if self.encoder_cache is None:
            return
        for chunk in chunks:
            for item in chunk.request.mm_inputs:
                if item.placeholder.offset < chunk.end and item.placeholder.end > chunk.start:
                    self.encoder_cache.pin(item.content_hash, chunk.request.request_id)

    def release_images(self, request: Request) -> None:
        """Lets go of the images whose placeholder tokens are all computed now."""
        self._unpin(request, everything=False)

    def _unpin(self, request: Request, *, everything: bool) -> None:
        if self.encoder_cache is None:
            return
        for item in request.mm_inputs:
            if everything or item.placeholder.end <= request.num_computed_tokens:
                self.encoder_cache.unpin(item.content_hash, request.request_id)
