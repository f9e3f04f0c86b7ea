"""Prefill and decode workers as Ray actors, and the `Router` that sends a request through both.

Each worker is an `EngineWorker` in its own actor process. `Router.stream` asks the prefill
actor for the request's `Handoff` and hands the decode actor the reference to it, not the
pages: Ray moves them from the prefill process's object store entry to the decode process
(on one host, shared memory: the decode process reads the pages where the prefill process
wrote them). The decode actor streams `TokenDelta`s back as a Ray streaming generator. With
no prefill worker (`start(..., disaggregated=False)`) the same router sends each request to
one engine of role "both", which is the baseline `benchmarks/disagg_tpot.py` measures against.

Why Ray's object store and not JAX's transfer server (`jax.experimental.transfer`, which does
work on CPU in jax 0.10.2, over a loopback TCP socket): measured on this 2-core host
(benchmarks/kv_transport.py, three runs in benchmarks/RESULTS.md), 47 MiB of pages (a
1,024-token prompt of SmolLM2-135M in float32) took 8-42 ms median through the object store
(1.1-5.8 GB/s) against 60-147 ms through the transfer server (335-829 MB/s); 12 MiB took
13-40 ms against 15-42 ms, 1 MiB about 3-5 ms either way. The object store also carries
the rest of the hand-off with the pages (the transfer server's receiver must know every
shape and a pull id ahead), and Ray places and restarts the workers, as it does the
replicas. Across hosts on accelerators the transfer
server moves device buffers without host copies and would be the one to measure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray

from jaxserve.disagg.worker import EngineWorker, TokenDelta
from jaxserve.sampling_params import SamplingParams

# Requests a worker serves at once; each holds one of the actor's threads while it waits.
MAX_CONCURRENCY = 256


def start_worker(model: str | os.PathLike[str], role: str, options: dict[str, Any]):
    """An `EngineWorker` actor of `role` serving `model` with these `jaxserve.LLM` options
    (it loads in the background: wait on its `ready`)."""
    actor = ray.remote(EngineWorker).options(
        max_concurrency=MAX_CONCURRENCY,
        num_cpus=0,  # the engine's threads use the host's cores; Ray reserves none
    )
    return actor.remote(os.fspath(model), role, **options)


class Router:
    """Sends each request through the prefill worker and then the decode worker (or to one
    worker of role "both") and streams the decode side's tokens.

    Args:
        decode: the decode worker's actor (role "decode", or "both" without `prefill`).
        prefill: the prefill worker's actor, or None for one engine.
    """

    def __init__(self, decode, prefill=None):
        self.decode = decode
        self.prefill = prefill
        self._ids = itertools.count()

    @property
    def disaggregated(self) -> bool:
        return self.prefill is not None

    def stream(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        request_id: str | None = None,
    ) -> Iterator[TokenDelta]:
        """The request's tokens as the decode side makes them (the first comes with the
        hand-off)."""
        request_id = request_id or f"disagg-{next(self._ids)}"
        ids = list(prompt_token_ids)
        if self.prefill is None:
            refs = self.decode.generate.options(num_returns="streaming").remote(
                request_id, ids, params
            )
        else:
            handoff = self.prefill.prefill.remote(request_id, ids, params)
            # Ray sends one caller's calls to an actor in order, each once its arguments
            # exist: a chat's decode call sent before a long prompt's hand-off is ready
            # would wait behind it. So each request waits for its own hand-off first.
            ray.wait([handoff], fetch_local=False)
            refs = self.decode.decode.options(num_returns="streaming").remote(handoff)
        finished = False
        try:
            for ref in refs:
                delta = ray.get(ref)
                finished = delta.finish_reason is not None
                yield delta
        finally:
            if not finished:  # the caller stopped early or a worker failed: free its pages
                for actor in (self.prefill, self.decode):
                    if actor is not None:
                        actor.abort.remote(request_id)

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams | Sequence[SamplingParams]
    ) -> list[list[int]]:
        """Every prompt's output tokens, the requests all in flight at once."""
        if isinstance(params, SamplingParams):
            params = [params] * len(prompts)

        def collect(args) -> list[int]:
            prompt, p = args
            return [t for delta in self.stream(prompt, p) for t in delta.token_ids]

        with ThreadPoolExecutor(max(len(prompts), 1)) as pool:
            return list(pool.map(collect, zip(prompts, params, strict=True)))

    def close(self) -> None:
        for actor in (self.prefill, self.decode):
            if actor is not None:
                ray.kill(actor)


def start(
    model: str | os.PathLike[str],
    *,
    disaggregated: bool = True,
    prefill_options: dict[str, Any] | None = None,
    decode_options: dict[str, Any] | None = None,
) -> Router:
    """Starts the workers on the running Ray cluster (`ray.init()` first) and waits until
    their engines are loaded.

    Args:
        model: the checkpoint both workers serve.
        disaggregated: a prefill and a decode worker; False: one worker of role "both"
            (with `decode_options`).
        prefill_options, decode_options: `jaxserve.LLM` keyword arguments of each worker.
    """
    decode_role = "decode" if disaggregated else "both"
    decode = start_worker(model, decode_role, dict(decode_options or {}))
    prefill = start_worker(model, "prefill", dict(prefill_options or {})) if disaggregated else None
    ray.get([a.ready.remote() for a in (prefill, decode) if a is not None])
    return Router(decode, prefill)
