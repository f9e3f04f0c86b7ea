"""The attention layer op: write this step's K/V into the pages, then ragged paged attention.

Under tensor parallelism the op runs per shard with `shard_map`: each device holds H/tp query
heads and the matching K/tp KV heads of the cache, so attention needs no communication.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from jaxserve.model.kv_cache import quantize_kv
from jaxserve.sharding import MODEL_AXIS
from pallas_kernels.ragged_paged_attention import write_kv_pages

# (q, k, v, k_pages, v_pages, slot_mapping, kv_lens, page_indices, cu_q_lens, num_seqs
#  [, sinks]) -> (out, k_pages, v_pages); the pools are [L, P, page_size, K, D] (all layers':
#   slots and page indices count pages over L * P), written in place when the cache is
#   donated; `sinks` f32[H], the layer's sink logits, where the op was made `with_sinks`;
#   then `k_scale`, `v_scale` f32[K, D], where the pools are quantized (`kv_quant`).
AttentionOp = Callable[..., tuple[jax.Array, jax.Array, jax.Array]]


def make_attention_op(
    attention_fn: Callable[..., jax.Array],
    *,
    sm_scale: float,
    sliding_window: int | None,
    mesh: Mesh | None,
    soft_cap: float | None = None,
    with_sinks: bool = False,
    quantized_kv: bool = False,
    block_q: int = 1,
) -> AttentionOp:
    """Builds the per-layer op around a ragged paged attention implementation.

    `soft_cap` caps the scores with tanh (Gemma 2); `with_sinks`: the op takes each layer's
    sink logits as an argument (gpt-oss); `quantized_kv`: the pools hold int8 or fp8 codes,
    and the op takes the layer's K and V scales as its last two arguments (`kv_quant`): the
    new K/V are quantized as they are written, the key scales multiply the queries and the
    value scales the output, so the attention itself reads the codes as numbers.
    """

    def op(q, k, v, k_pages, v_pages, slot_mapping, kv_lens, page_indices, cu_q_lens, num_seqs,
           *layer_args):  # fmt: skip
        # q: [T, H, D]  k, v: [T, K, D]  k_pages, v_pages: [L, P, page_size, K, D]
        sinks = layer_args[0] if with_sinks else None
        if quantized_kv:
            k_scale, v_scale = layer_args[-2:]  # [K, D] each
            group = q.shape[1] // k.shape[1]
            k = quantize_kv(k, k_scale, k_pages.dtype)
            v = quantize_kv(v, v_scale, v_pages.dtype)
            q = (q.astype(jnp.float32) * jnp.repeat(k_scale, group, axis=0)).astype(q.dtype)
        # The pools go to the write as they are: a reshape between the layer loop's carry and
        # an in-place kernel would make XLA copy the whole pool around it.
        k_pages, v_pages = write_kv_pages(k_pages, v_pages, k, v, slot_mapping)
        flat = (-1, *k_pages.shape[-3:])  # [L * P, page_size, K, D]: a free reshape to read
        out = attention_fn(
            q,
            k_pages.reshape(flat),
            v_pages.reshape(flat),
            kv_lens,
            page_indices,
            cu_q_lens,
            num_seqs,
            sm_scale=sm_scale,
            sliding_window=sliding_window,
            block_q=block_q,
            **({"soft_cap": soft_cap} if soft_cap is not None else {}),
            **({"sinks": sinks} if with_sinks else {}),
        )
        if quantized_kv:
            out = (out.astype(jnp.float32) * jnp.repeat(v_scale, group, axis=0)).astype(out.dtype)
        return out, k_pages, v_pages

    if mesh is None or mesh.shape[MODEL_AXIS] == 1:
        return op
    heads = P(None, MODEL_AXIS, None)  # [T, H|K, D] split over heads
    pages = P(None, None, None, MODEL_AXIS, None)  # [L, P, page_size, K, D] split over KV heads
    meta = P()
    layer_specs = (P(MODEL_AXIS),) if with_sinks else ()  # sinks [H]: split over heads
    if quantized_kv:  # scales [K, D]: split over KV heads
        layer_specs += (P(MODEL_AXIS, None), P(MODEL_AXIS, None))
    return jax.shard_map(
        op,
        mesh=mesh,
        in_specs=(heads, heads, heads, pages, pages, meta, meta, meta, meta, meta, *layer_specs),
        out_specs=(heads, pages, pages),
        check_vma=False,
    )
