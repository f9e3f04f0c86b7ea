"""Disaggregated prefill and decode: a prompt's KV pages handed from one engine to another.

A prefill-role engine (`PrefillEngine`) runs each request's prompt as any engine does
(chunked prefill, prefix-cache hits) and draws its first token; the request then stops there,
and a `Handoff` carries what the decode side needs to go on exactly as one engine would: the
prompt, the first token (with its logprobs), the sampling params and the request's seed, and
the K/V of the prompt's pages as host arrays (one gather per step for all the step's
requests, read after the step and before the next one can reuse the freed pages; full pages
stay in the prefill side's prefix cache).

A decode-role engine (`DecodeEngine`) takes a `Handoff`, gives the request pages (prefix-cache
hits where it holds the same prefix, new pages for the rest), writes the K/V into the new ones,
counts the whole prompt as computed, accepts the first token as if it had drawn it and decodes
on. The imported full pages get their block hashes, so later requests hit them.

Random draws match one engine's too: each draw's key is `fold_in(key(seed), tokens generated
so far)` (`jaxserve.model.sampler`), so with the seed carried over, the decode side's draws
are the ones one engine would make. Both sides must serve the same checkpoint with the same
page size and kv_cache_dtype (quantized pages move as codes; both calibrate the same scales).
Images are not handed off yet.

Neither class owns a thread: whoever owns the engine steps it (`jaxserve.disagg` runs each in
its own process).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from jaxserve.engine.engine import Engine
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.outputs import Logprob
from jaxserve.sampling_params import SamplingParams


class PageRunner(Protocol):
    page_size: int

    def read_pages(self, page_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]: ...

    def write_pages(self, page_ids: Sequence[int], k: np.ndarray, v: np.ndarray) -> None: ...


@dataclasses.dataclass
class Handoff:
    """One request after its prompt: all a decode engine needs to continue it.

    `k` and `v` are [L, P, page_size, K, D]: the P = ceil(prompt tokens / page_size) pages
    that hold the prompt's K/V, in the cache's dtype (codes for a quantized cache).
    """

    request_id: str
    prompt_token_ids: list[int]
    params: SamplingParams  # as the request asked (max_tokens included)
    seed: int  # of its random draws, drawn by the prefill engine if params have none
    first_token: int
    k: np.ndarray
    v: np.ndarray
    prompt: str | None = None
    cache_salt: str | None = None
    first_logprobs: dict[int, Logprob] | None = None
    prompt_logprobs: list[dict[int, Logprob] | None] | None = None
    num_cached_tokens: int = 0  # prompt tokens the prefill side found in its prefix cache

    @property
    def nbytes(self) -> int:
        return self.k.nbytes + self.v.nbytes


class PrefillEngine:
    """Runs prompts and hands each request off after its first token.

    Args:
        engine: an engine this object steps from now on; its runner must read pages
            (`ModelRunner.read_pages`).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._params: dict[str, SamplingParams] = {}  # request id -> as asked
        self._stopped: list[tuple[Request, list[int]]] = []  # this step's, with their pages
        engine.finish_hook = self._note_pages

    def add_request(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        request_id: str | None = None,
        prompt: str | None = None,
        cache_salt: str | None = None,
    ) -> Request:
        """Queues a request's prompt; raises `ValueError` as `Engine.add_request` does."""
        # min_tokens of 1 still bars stop tokens from the first draw, as the request asks;
        # stop strings are the decode side's to find (it detokenizes the first token too).
        first_only = dataclasses.replace(
            params, max_tokens=1, min_tokens=min(params.min_tokens, 1), stop=[]
        )
        request = self.engine.add_request(
            prompt_token_ids, first_only, request_id=request_id, prompt=prompt,
            cache_salt=cache_salt,
        )  # fmt: skip
        self._params[request.request_id] = params
        return request

    def abort(self, request_id: str) -> None:
        self._params.pop(request_id, None)
        self.engine.abort(request_id)

    def has_unfinished(self) -> bool:
        return self.engine.has_unfinished()

    def _note_pages(self, request: Request) -> None:
        pages = -(-request.num_prompt_tokens // self.engine.runner.page_size)
        self._stopped.append((request, self.engine.blocks.page_table(request)[:pages]))

    def step(self) -> tuple[list[Handoff], list[Request]]:
        """Runs one step; returns the hand-offs of the requests whose prompts it finished,
        and the requests that ended here without one (an error in their grammar).

        Raises what `Engine.step` raises; the failed requests then have no hand-off.
        """
        try:
            ended = self.engine.step()
        finally:
            stopped, self._stopped = self._stopped, []
        handed = {request.request_id for request, _ in stopped}
        failed = [r for r in ended if r.request_id not in handed]
        for request in failed:
            self._params.pop(request.request_id, None)
        if not stopped:
            return [], failed
        runner: PageRunner = self.engine.runner  # type: ignore[assignment]
        # One gather for the step; the freed pages are reused only from the next step on.
        k, v = runner.read_pages([p for _, pages in stopped for p in pages])
        handoffs, start = [], 0
        for request, pages in stopped:
            end = start + len(pages)
            handoffs.append(self._handoff(request, k[:, start:end], v[:, start:end]))
            start = end
        return handoffs, failed

    def _handoff(self, request: Request, k: np.ndarray, v: np.ndarray) -> Handoff:
        params = self._params.pop(request.request_id)
        wants_prompt_logprobs = params.prompt_logprobs is not None
        return Handoff(
            request_id=request.request_id,
            prompt_token_ids=list(request.prompt_token_ids),
            params=params,
            seed=request.seed,
            first_token=request.output_token_ids[0],
            k=k,
            v=v,
            prompt=request.prompt,
            cache_salt=request.cache_salt,
            first_logprobs=request.logprobs[0] if params.logprobs is not None else None,
            prompt_logprobs=list(request.prompt_logprobs) if wants_prompt_logprobs else None,
            num_cached_tokens=request.num_cached_tokens,
        )


class DecodeEngine:
    """Continues handed-off requests: imports their pages and decodes them to the end.

    Args:
        engine: an engine this object steps from now on; its runner must write pages
            (`ModelRunner.write_pages`).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.pending: deque[tuple[Request, Handoff]] = deque()  # waiting for pages or a slot

    def add_handoff(self, handoff: Handoff, request: Request | None = None) -> Request:
        """Validates a hand-off and queues it; its pages are written when it is admitted.

        Args:
            handoff: what the prefill engine made.
            request: the request as this engine already made it (`Engine.make_request`, with
                the hand-off's seed), when it was validated here before its prompt went to
                the prefill engine; else one is made from the hand-off.

        Raises:
            ValueError: the request is invalid here (as `Engine.add_request`), or its pages
                do not fit this engine's cache.
        """
        if request is None:
            params = dataclasses.replace(handoff.params, seed=handoff.seed)
            request = self.engine.make_request(
                handoff.prompt_token_ids, params, request_id=handoff.request_id,
                prompt=handoff.prompt, cache_salt=handoff.cache_salt,
            )  # fmt: skip
        elif request.seed != handoff.seed or request.prompt_token_ids != handoff.prompt_token_ids:
            raise ValueError(f"the hand-off of {handoff.request_id!r} is for another request")
        page_size = self.engine.runner.page_size
        expected = -(-request.num_prompt_tokens // page_size)
        if handoff.k.shape[1] != expected or handoff.k.shape[2] != page_size:
            raise ValueError(
                f"the hand-off of {handoff.request_id!r} holds {handoff.k.shape[1]} pages of "
                f"{handoff.k.shape[2]} tokens; this engine needs {expected} of {page_size}"
            )
        self.pending.append((request, handoff))
        return request

    def abort(self, request_id: str) -> Request | None:
        for request, handoff in self.pending:
            if request.request_id == request_id:
                self.pending.remove((request, handoff))
                request.move_to(RequestStatus.FINISHED_ABORTED)
                return request
        return self.engine.abort(request_id)

    def has_unfinished(self) -> bool:
        return bool(self.pending) or self.engine.has_unfinished()

    def step(self) -> list[Request]:
        """Admits the hand-offs that fit, then runs one step; returns the requests that
        finished (some may end on their first token, without a step)."""
        finished = self._admit()
        return finished + self.engine.step()

    def _admit(self) -> list[Request]:
        finished = []
        runner: PageRunner = self.engine.runner  # type: ignore[assignment]
        while self.pending:
            request, handoff = self.pending[0]
            if not self.engine.scheduler.admit_computed(request):
                break  # in order: later hand-offs wait behind it
            self.pending.popleft()
            first = request.num_cached_tokens // runner.page_size  # pages already here
            pages = self.engine.blocks.page_table(request)[first : handoff.k.shape[1]]
            try:
                if pages:
                    runner.write_pages(pages, handoff.k[:, first:], handoff.v[:, first:])
            except Exception:
                self.engine.scheduler.finish(request, RequestStatus.FINISHED_ERROR)
                raise
            if handoff.prompt_logprobs is not None:
                request.prompt_logprobs = list(handoff.prompt_logprobs)
            if handoff.first_logprobs is not None:
                request.logprobs.append(handoff.first_logprobs)
                request.cumulative_logprob += handoff.first_logprobs[handoff.first_token].logprob
            if self.engine.accept_token(request, handoff.first_token):
                finished.append(request)
        return finished
