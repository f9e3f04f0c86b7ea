"""`jaxserve run` with `disaggregated_prefill: true`: this process decodes, a Ray actor prefills.

The server process builds its `LLM` as usual and serves the OpenAI API from it; its engine
becomes the decode side of a `RemotePrefillEngine`, whose prompts go to a prefill worker
(`EngineWorker` of role "prefill") that `start_prefill_worker` starts on Ray with the same
engine options, so both sides agree on the page size and the cache's dtype. The worker's
hand-offs (the prompt's KV pages) reach this process through Ray's object store
(`jaxserve.disagg.cluster` says why that transport).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from jaxserve.errors import JaxserveError
from jaxserve.llm import LLM

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'jaxserve[ray]'"


class DisaggregationUnavailable(JaxserveError):
    """A prefill worker was asked for where Ray is missing or the model cannot hand off."""


@contextlib.contextmanager
def ray_cluster() -> Iterator[Any]:
    """The `ray` module, joined to `$RAY_ADDRESS` or a local cluster it starts (and stops)."""
    try:
        import ray
    except ImportError:
        raise DisaggregationUnavailable(
            f"disaggregated_prefill runs its prefill worker on Ray, which is not installed: "
            f"{INSTALL_HINT}"
        ) from None
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def start_prefill_worker(model: str, llm_options: dict[str, Any]):
    """A prefill worker's actor serving `model` with `llm_options`, once it has loaded."""
    import ray

    from jaxserve.disagg.cluster import start_worker

    actor = start_worker(model, "prefill", llm_options)
    try:
        ray.get(actor.ready.remote())
    except ray.exceptions.RayError as e:
        raise DisaggregationUnavailable(f"the prefill worker did not start: {e}") from e
    logger.info("prefill worker ready; this process decodes")
    return actor


@contextlib.contextmanager
def decode_remotely(llm: LLM, prefill) -> Iterator[None]:
    """`llm.engine` is a `RemotePrefillEngine` over its own engine while the context holds.

    Raises:
        DisaggregationUnavailable: a vision-language model (images are not handed off).
    """
    from jaxserve.disagg.remote_prefill import RemotePrefillEngine

    if llm.config.multimodal is not None:
        raise DisaggregationUnavailable(
            "disaggregated_prefill cannot serve a vision-language model: images are not "
            "handed off between engines yet"
        )
    local = llm.engine
    llm.engine = RemotePrefillEngine(local, prefill)
    try:
        yield
    finally:
        llm.engine = local
