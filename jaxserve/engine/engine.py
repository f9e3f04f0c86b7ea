"""`Engine`: the host loop that ties the scheduler, the page pool and the model runner.

One `step()`: the scheduler picks each request's tokens within the budget, the runner packs
them into one mixed prefill/decode batch and runs the model, and every request whose known
tokens are now all in the cache gets its next token and is checked for stopping. Finished
and aborted requests give their pages back at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from jaxserve.engine.block_manager import BlockManager
from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.request import Request
from jaxserve.engine.scheduler import Policy, Scheduler
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
        enable_prefix_caching: bool = True,
        policy: Policy = "fcfs",
    ):
        if max_num_batched_tokens < runner.page_size:
            raise ValueError(
                f"max_num_batched_tokens ({max_num_batched_tokens}) must be at least the page "
                f"size ({runner.page_size})"
            )
        self.runner = runner
        self.vocab_size = vocab_size
        self.max_model_len = max_model_len
        self.eos_token_ids = frozenset(eos_token_ids)
        self.blocks = BlockManager(
            runner.num_pages, runner.page_size, enable_prefix_caching=enable_prefix_caching
        )
        self.scheduler = Scheduler(
            self.blocks,
            max_num_seqs=max_num_seqs,
            max_num_batched_tokens=max_num_batched_tokens,
            policy=policy,
        )
        self._ids = itertools.count()

    def add_request(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        prompt: str | None = None,
        request_id: str | None = None,
        cache_salt: str | None = None,
        priority: int = 0,
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
        needed = -(-(len(ids) + max_tokens) // self.runner.page_size)
        if needed > self.blocks.capacity:
            raise ValueError(
                f"the request needs {needed} KV pages but the cache holds {self.blocks.capacity}; "
                "lower max_tokens or enlarge the KV cache"
            )
        request = Request(
            request_id=request_id if request_id is not None else f"req-{next(self._ids)}",
            prompt_token_ids=ids,
            params=params,
            max_tokens=max_tokens,
            eos_token_ids=self.eos_token_ids,
            prompt=prompt,
            cache_salt=cache_salt,
            priority=priority,
        )
        self.scheduler.add(request)
        return request

    def abort(self, request_id: str) -> Request | None:
        """Ends a request wherever it is and frees its pages; None if it is unknown."""
        return self.scheduler.abort(request_id)

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished()

    def step(self) -> list[Request]:
        """Runs one model step; returns the requests that finished in it."""
        out = self.scheduler.schedule()
        if not out.chunks:
            return []
        chunks = [
            SequenceChunk(
                c.request.all_token_ids[c.start : c.end], c.start, self.blocks.page_table(c.request)
            )
            for c in out.chunks
        ]
        next_tokens = self.runner.greedy(chunks)
        finished = []
        for chunk, token in zip(out.chunks, next_tokens, strict=True):
            request = chunk.request
            request.num_computed_tokens = chunk.end
            if chunk.end < request.num_tokens:
                continue  # a prompt chunk: the prompt is not all in the cache yet
            request.append_token(int(token))
            if request.finished:
                self.scheduler.finish(request, request.status)
                finished.append(request)
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
