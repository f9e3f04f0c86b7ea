"""`StepBatch` and `StepInput`: the fixed-shape arrays of one model step (the host/device seam)."""

from __future__ import annotations

import jax
from flax import struct

from jaxserve.model.sampler import SamplingBatch


@struct.dataclass
class StepBatch:
    """One mixed prefill/decode step, padded to a shape bucket.

    Padding tokens write their K/V into reserved page 0 and read nothing; padding sequence
    slots have zero query and KV length.
    """

    token_ids: jax.Array  # i32[T]
    positions: jax.Array  # i32[T]; i32[3, T] (temporal, height, width) for M-RoPE models
    slot_mapping: jax.Array  # i32[T]: page * page_size + offset where each token's K/V goes
    cu_q_lens: jax.Array  # i32[S + 1]
    kv_lens: jax.Array  # i32[S]
    page_indices: jax.Array  # i32[S, pages_per_seq]
    num_seqs: jax.Array  # i32[1]
    logits_indices: jax.Array  # i32[R]: the token rows whose logits the step needs
    # Steps that hold image placeholder tokens: the images' embeddings f32[T, E] and the rows
    # that take them in place of the token's own i32[T] (1: take it). None in other steps.
    mm_embeds: jax.Array | None = None
    mm_mask: jax.Array | None = None


@struct.dataclass
class StepInput:
    """Everything a sampling step reads, padded to one bucket and sent in one transfer.

    The parts a step's `SamplingMode` does not use are None (the common greedy step sends
    no sampling rows), so each mode compiles without them.
    """

    batch: StepBatch
    sampling: SamplingBatch | None  # R = S rows, one per sequence slot
    prompt_targets: jax.Array | None  # i32[T]: the prompt token after each token row (V: none)
