"""Random add / step / abort / finish / preempt sequences against the page pool's invariants.

After every action: each page's ref count equals the number of requests holding it, a page
is shared only as a cached prefix block, page 0 is never handed out, free and held pages
add up to the pool, and every page a request treats as computed holds exactly its own
(salt, prefix) content. When all requests end, every page is back in the pool.
"""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jaxserve.engine.block_manager import BlockManager
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.engine.scheduler import Scheduler
from jaxserve.sampling_params import SamplingParams

BLOCK_SIZE = 4
NUM_BLOCKS = 14
PREFIXES = [(), (1, 2, 3, 4), (1, 2, 3, 4, 5, 6, 7, 8, 9), (7, 7, 7, 7, 7, 7, 7, 7)]
tokens = st.lists(st.integers(0, 3), max_size=9)


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.blocks = BlockManager(NUM_BLOCKS, BLOCK_SIZE)
        self.policy = "fcfs"
        self.scheduler = Scheduler(self.blocks, max_num_seqs=4, max_num_batched_tokens=10)
        self.ids = itertools.count()
        self.written: dict[int, tuple] = {}  # page -> (salt, the token prefix it holds)
        self.live: list[Request] = []

    @rule(
        prefix=st.sampled_from(PREFIXES),
        suffix=tokens,
        salt=st.sampled_from([None, "tenant-a"]),
        max_tokens=st.integers(1, 6),
        priority=st.integers(0, 2),
    )
    def add(self, prefix, suffix, salt, max_tokens, priority):
        prompt = list(prefix) + suffix or [0]
        if -(-(len(prompt) + max_tokens) // BLOCK_SIZE) > self.blocks.capacity:
            return
        request = Request(
            f"r{next(self.ids)}",
            prompt,
            SamplingParams(temperature=0, max_tokens=max_tokens),
            max_tokens,
            frozenset(),
            cache_salt=salt,
            priority=priority,
        )
        self.scheduler.add(request)
        self.live.append(request)

    @rule(next_token=st.integers(0, 3))
    def step(self, next_token):
        out = self.scheduler.schedule()
        assert out.num_batched_tokens <= self.scheduler.max_num_batched_tokens
        for chunk in out.chunks:
            request = chunk.request
            assert request.status is RequestStatus.RUNNING
            assert chunk.start == request.num_computed_tokens
            table = self.blocks.page_table(request)
            assert len(table) * BLOCK_SIZE >= chunk.end, "pages do not cover the chunk"
            tokens_now = request.all_token_ids
            for i in range(chunk.start // BLOCK_SIZE, -(-chunk.end // BLOCK_SIZE)):
                end = min((i + 1) * BLOCK_SIZE, chunk.end)
                self.written[table[i]] = (request.cache_salt, tuple(tokens_now[:end]))
            request.num_computed_tokens = chunk.end
            if chunk.end == request.num_tokens:
                request.append_token(next_token)
                if len(request.output_token_ids) >= request.max_tokens:
                    self._end(request, RequestStatus.FINISHED_LENGTH)

    def _end(self, request, status):
        self.scheduler.finish(request, status)
        self.live.remove(request)
        assert request.finished and not self.blocks.blocks_of(request)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def abort(self, data):
        request = data.draw(st.sampled_from(self.live))
        assert self.scheduler.abort(request.request_id) is request
        self.live.remove(request)
        assert request.finish_reason == "abort"

    @precondition(lambda self: self.scheduler.running)
    @rule(data=st.data())
    def finish(self, data):
        self._end(
            data.draw(st.sampled_from(self.scheduler.running)), RequestStatus.FINISHED_STOPPED
        )

    @precondition(lambda self: self.scheduler.running)
    @rule(data=st.data())
    def preempt(self, data):
        request = data.draw(st.sampled_from(self.scheduler.running))
        self.scheduler.preempt(request)
        assert request.status is RequestStatus.PREEMPTED and request.num_computed_tokens == 0
        assert not self.blocks.blocks_of(request)

    @invariant()
    def ref_counts_equal_owners(self):
        owners = Counter()
        for request in self.live:
            table = self.blocks.page_table(request)
            assert len(set(table)) == len(table), "a request holds a page twice"
            owners.update(table)
        assert 0 not in owners, "the reserved page was handed out"
        for block in self.blocks.blocks[1:]:
            assert block.ref_cnt == owners[block.block_id]
            if owners[block.block_id] > 1:
                assert block.block_hash is not None, "a page is shared but not a cached block"
        held = sum(1 for b in self.blocks.blocks[1:] if b.ref_cnt > 0)
        assert held + self.blocks.num_free_blocks == self.blocks.capacity

    @invariant()
    def computed_pages_hold_the_requests_own_prefix(self):
        for request in self.live:
            table = self.blocks.page_table(request)
            full = request.num_computed_tokens // BLOCK_SIZE
            for i in range(full):
                expected = (
                    request.cache_salt,
                    tuple(request.all_token_ids[: (i + 1) * BLOCK_SIZE]),
                )
                assert self.written.get(table[i]) == expected, (
                    f"{request.request_id} block {i} reads another prefix"
                )

    @invariant()
    def limits_hold(self):
        assert len(self.scheduler.running) <= self.scheduler.max_num_seqs
        if not self.live:
            assert self.blocks.num_free_blocks == self.blocks.capacity

    def teardown(self):
        for request in list(self.live):
            self.scheduler.abort(request.request_id)
        assert self.blocks.num_free_blocks == self.blocks.capacity
        assert not self.scheduler.has_unfinished()


class PrioritySchedulerMachine(SchedulerMachine):
    def __init__(self):
        super().__init__()
        self.scheduler = Scheduler(
            self.blocks, max_num_seqs=3, max_num_batched_tokens=9, policy="priority"
        )


TestScheduler = SchedulerMachine.TestCase
TestScheduler.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestPriorityScheduler = PrioritySchedulerMachine.TestCase
TestPriorityScheduler.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
