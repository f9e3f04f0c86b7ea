"""`RemotePrefillEngine`: a decode-role engine that sends its prompts to a prefill worker.

It has the face of `Engine` that the server's `AsyncEngine` steps (`add_request`, `abort`,
`step`, `has_unfinished`, and the `scheduler`, `blocks` and `encoder_cache` its gauges
read), so a server process can decode while a Ray actor (`jaxserve.disagg.cluster`) computes
its prompts. Only the engine thread calls it, as it does an `Engine`:

- `add_request` validates the request here (as `Engine.add_request` would, drawing its seed)
  and sends the prompt, with that seed, to the prefill actor; the call returns a Ray
  reference to the `Handoff` at once.
- `step` collects the hand-offs that are ready (waiting up to `poll_s` for one when there is
  nothing to decode, so an idle engine thread does not spin), queues them on the
  `DecodeEngine` with the request objects the caller already holds, and runs a decode step.
- `abort` drops a request wherever it is, telling the prefill actor if its prompt is there.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import ray

from jaxserve.engine.engine import Engine
from jaxserve.engine.handoff import DecodeEngine
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.multimodal.inputs import MultiModalInput
from jaxserve.sampling_params import SamplingParams

logger = logging.getLogger(__name__)


class RemotePrefillEngine:
    """Decodes locally; prompts go to `prefill` (an `EngineWorker` actor of role "prefill").

    Args:
        engine: this process's engine, stepped by this object only (serve the same
            checkpoint, page size and kv_cache_dtype as the prefill worker).
        prefill: the prefill worker's actor handle.
        poll_s: longest wait for a hand-off in a step with nothing to decode.
    """

    def __init__(self, engine: Engine, prefill, *, poll_s: float = 0.005):
        self.engine = engine
        self.decode = DecodeEngine(engine)
        self.prefill = prefill
        self.poll_s = poll_s
        self.scheduler = engine.scheduler
        self.blocks = engine.blocks
        self.encoder_cache = None  # images are not handed off
        self.max_model_len = engine.max_model_len
        self.grammars = engine.grammars
        self._prefilling: dict[ray.ObjectRef, Request] = {}

    def add_request(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        prompt: str | None = None,
        request_id: str | None = None,
        priority: int = 0,
        cache_salt: str | None = None,
        mm_inputs: Sequence[MultiModalInput] = (),
        mrope_positions: np.ndarray | None = None,
        mrope_delta: int = 0,
    ) -> Request:
        """Validates a request and sends its prompt to the prefill worker; raises
        `ValueError` as `Engine.add_request` does, or for images."""
        if mm_inputs or mrope_positions is not None:
            raise ValueError("a disaggregated engine does not take images yet")
        request = self.engine.make_request(
            prompt_token_ids, params, prompt=prompt, request_id=request_id,
            priority=priority, cache_salt=cache_salt,
        )  # fmt: skip
        if request.request_id in self.scheduler.requests or any(
            r.request_id == request.request_id for r in self._prefilling.values()
        ):
            raise ValueError(f"request id {request.request_id!r} is already in use")
        seeded = _with_seed(params, request.seed)
        ref = self.prefill.prefill.remote(
            request.request_id, request.prompt_token_ids, seeded, request.cache_salt
        )
        self._prefilling[ref] = request
        return request

    def abort(self, request_id: str) -> Request | None:
        for ref, request in list(self._prefilling.items()):
            if request.request_id == request_id:
                del self._prefilling[ref]
                self.prefill.abort.remote(request_id)
                request.move_to(RequestStatus.FINISHED_ABORTED)
                return request
        return self.decode.abort(request_id)

    def has_unfinished(self) -> bool:
        return bool(self._prefilling) or self.decode.has_unfinished()

    def step(self) -> list[Request]:
        """Takes the ready hand-offs, then runs one decode step; returns the requests that
        finished (a failed prefill ends its request in FINISHED_ERROR)."""
        finished = self._collect()
        if self.decode.has_unfinished():
            finished += self.decode.step()
        return finished

    def _collect(self) -> list[Request]:
        if not self._prefilling:
            return []
        refs = list(self._prefilling)
        timeout = 0 if self.decode.has_unfinished() else self.poll_s
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout, fetch_local=True)
        failed = []
        for ref in ready:
            request = self._prefilling.pop(ref)
            try:
                self.decode.add_handoff(ray.get(ref), request)
            except Exception:
                logger.exception("request %s: its prefill failed", request.request_id)
                request.move_to(RequestStatus.FINISHED_ERROR)
                failed.append(request)
        return failed


def _with_seed(params: SamplingParams, seed: int) -> SamplingParams:
    """`params` drawing with `seed`, so both sides draw as one engine would."""
    return dataclasses.replace(params, seed=seed)
