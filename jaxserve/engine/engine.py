"""`Engine`: admits requests, schedules each step's tokens, and applies the step's results.

Each step gives every running request the tokens it still needs (a whole prompt, a chunk
of a long prompt, or the one token it generated last step) within the token budget, runs
them as one mixed batch, and appends a token to each request whose known tokens are now
all computed. Pages for a request's whole length are reserved when it is admitted.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.pages import PageAllocator
from jaxserve.engine.request import Request
from jaxserve.sampling_params import SamplingParams


class StepRunner(Protocol):
    num_pages: int
    page_size: int

    def greedy(self, chunks: Sequence[SequenceChunk]) -> np.ndarray: ...


class Engine:
    def __init__(
        self,
        runner: StepRunner,
        *,
        vocab_size: int,
        max_model_len: int,
        max_num_seqs: int,
        max_num_batched_tokens: int,
        eos_token_ids: Sequence[int] = (),
    ):
        self.runner = runner
        self.vocab_size = vocab_size
        self.max_model_len = max_model_len
        self.max_num_seqs = max_num_seqs
        self.max_num_batched_tokens = max_num_batched_tokens
        self.eos_token_ids = frozenset(eos_token_ids)
        self.pages = PageAllocator(runner.num_pages)
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self._ids = itertools.count()

    def _pages_for(self, num_tokens: int) -> int:
        return -(-num_tokens // self.runner.page_size)

    def add_request(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        prompt: str | None = None,
        request_id: str | None = None,
    ) -> Request:
        """Validates and queues one request; raises `ValueError` naming what is wrong."""
        _check_supported(params)
        ids = [int(t) for t in prompt_token_ids]
        if not ids:
            raise ValueError("the prompt is empty: give at least one token")
        bad = [t for t in ids if not 0 <= t < self.vocab_size]
        if bad:
            raise ValueError(
                f"prompt token ids {bad[:5]} are outside the vocabulary [0, {self.vocab_size})"
            )
        if len(ids) >= self.max_model_len:
            raise ValueError(
                f"the prompt has {len(ids)} tokens, but max_model_len is {self.max_model_len} "
                "and at least one token must be generated"
            )
        room = self.max_model_len - len(ids)
        max_tokens = room if params.max_tokens is None else min(params.max_tokens, room)
        needed = self._pages_for(len(ids) + max_tokens)
        if needed > self.pages.capacity:
            raise ValueError(
                f"the request needs {needed} KV pages but the cache holds {self.pages.capacity}; "
                "lower max_tokens or enlarge the KV cache"
            )
        request = Request(
            request_id=request_id or str(next(self._ids)),
            prompt_token_ids=ids,
            params=params,
            max_tokens=max_tokens,
            eos_token_ids=self.eos_token_ids,
            prompt=prompt,
        )
        self.waiting.append(request)
        return request

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    def _admit(self) -> None:
        while self.waiting and len(self.running) < self.max_num_seqs:
            request = self.waiting[0]
            pages = self.pages.allocate(
                self._pages_for(len(request.prompt_token_ids) + request.max_tokens)
            )
            if pages is None:
                return
            request.page_table = pages
            self.running.append(self.waiting.popleft())

    def _schedule(self) -> list[tuple[Request, SequenceChunk]]:
        budget = self.max_num_batched_tokens
        scheduled = []
        for request in self.running:
            if budget == 0:
                break
            start = request.num_computed_tokens
            n = min(request.num_tokens - start, budget)
            tokens = request.all_token_ids[start : start + n]
            scheduled.append((request, SequenceChunk(tokens, start, request.page_table)))
            budget -= n
        return scheduled

    def step(self) -> list[Request]:
        """Runs one model step; returns the requests that finished in it."""
        self._admit()
        scheduled = self._schedule()
        if not scheduled:
            return []
        next_tokens = self.runner.greedy([chunk for _, chunk in scheduled])
        finished = []
        for (request, chunk), token in zip(scheduled, next_tokens, strict=True):
            request.num_computed_tokens = chunk.end
            if chunk.end < request.num_tokens:
                continue  # a prompt chunk: the prompt is not all in the cache yet
            request.append_token(int(token))
            if request.finished:
                finished.append(request)
        for request in finished:
            self.running.remove(request)
            self.pages.free(request.page_table)
            request.page_table = []
        return finished


def _check_supported(params: SamplingParams) -> None:
    """This engine decodes greedily; refuse options it would otherwise silently ignore."""
    unsupported = [
        name
        for name, active in (
            ("temperature > 0 (random sampling)", not params.greedy),
            ("n > 1", params.n > 1),
            ("stop strings", bool(params.stop)),
            ("presence_penalty", params.presence_penalty != 0),
            ("frequency_penalty", params.frequency_penalty != 0),
            ("repetition_penalty", params.repetition_penalty != 1),
            ("logprobs", params.logprobs is not None),
            ("prompt_logprobs", params.prompt_logprobs is not None),
            ("logit_bias", bool(params.logit_bias)),
            ("min_tokens", params.min_tokens > 0),
        )
        if active
    ]
    if unsupported:
        raise ValueError(
            f"not supported by this engine yet: {', '.join(unsupported)}; "
            "use SamplingParams(temperature=0) for greedy decoding"
        )
