"""Ragged paged attention on CPU: a native kernel (`cpu_kernel.cc`) called through XLA's FFI.

Under XLA on CPU the jnp reference gathers pages into contiguous copies and runs many tiny
batched dots; at 64 decoding sequences with ~500 tokens each that measured 3-4x slower than
this kernel, which walks every sequence's pages in place (scores, online softmax and V rows
in L1, vector exp) and spreads (sequence, query block) units over XLA's intra-op threads.

Importing this module compiles the kernel on first use (`pallas_kernels.native`), so a machine
without a compiler finds it unavailable, with the reason, and the platform falls back to the
reference (`platforms.attention`).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from pallas_kernels import native
from pallas_kernels.native import CACHE_ENV_VAR, KernelBuildError
from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
    check_score_options,
)

__all__ = ["CACHE_ENV_VAR", "KernelBuildError", "build", "ragged_paged_attention_cpu"]

SOURCE = Path(__file__).with_name("cpu_kernel.cc")
TARGET = "jaxserve_ragged_paged_attention_cpu"
SYMBOL = "JaxserveRaggedPagedAttention"
QUERY_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16))
# int8 / float8_e4m3fn pages are a quantized cache's codes, read as numbers (scales folded
# outside attention): the kernel widens them to float32 as it loads each K/V row.
CODE_DTYPES = (jnp.dtype(jnp.int8), jnp.dtype(jnp.float8_e4m3fn))
PAGE_DTYPES = (*QUERY_DTYPES, *CODE_DTYPES)


def build() -> Path:
    """Compiles the kernel if this machine's cache lacks it; returns the library's path."""
    return native.build(SOURCE)


native.register(SOURCE, {SYMBOL: TARGET})


def ragged_paged_attention_cpu(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    soft_cap: float | None = None,
    sinks: jax.Array | None = None,  # f32[H]
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
) -> jax.Array:  # [T, H, D]
    """The reference's contract (see `reference.py`), computed by the native kernel.

    `mask_value` and `block_q` are accepted for the common signature; the kernel never
    scores masked positions and picks its own query blocks. Queries float32 or bfloat16;
    pages float32 (float32 queries only), bfloat16, int8 or float8_e4m3fn.
    The kernel takes `soft_cap` as an f32 attribute (0: none) and `sinks` as a last f32
    operand, `[H]` or `[0]` for none; without either option it runs the same loops as before.
    """
    del mask_value, block_q
    num_heads, head_dim = q.shape[1:]
    if k_pages.ndim != 4 or k_pages.shape != v_pages.shape or k_pages.shape[3] != head_dim:
        raise ValueError(
            f"k_pages and v_pages must both be [P, page_size, K, {head_dim}], got "
            f"{k_pages.shape} and {v_pages.shape}"
        )
    if num_heads % k_pages.shape[2]:
        raise ValueError(f"{num_heads} query heads are not a multiple of {k_pages.shape[2]}")
    if q.dtype not in QUERY_DTYPES:
        raise ValueError(f"q must be float32 or bfloat16, got {q.dtype}")
    for name, x in (("k_pages", k_pages), ("v_pages", v_pages)):
        if x.dtype not in PAGE_DTYPES:
            names = ", ".join(d.name for d in PAGE_DTYPES)
            raise ValueError(f"{name} must be one of {names}, got {x.dtype}")
    if k_pages.dtype != v_pages.dtype:
        raise ValueError(f"k_pages is {k_pages.dtype} but v_pages is {v_pages.dtype}")
    if q.dtype == jnp.bfloat16 and k_pages.dtype == jnp.float32:
        raise ValueError("bfloat16 queries need bfloat16 pages (float32 pages: float32 queries)")
    if sliding_window is not None and sliding_window < 1:
        raise ValueError(f"sliding_window must be positive, got {sliding_window}")
    check_score_options(num_heads, soft_cap, sinks)
    cap = np.float32(soft_cap or 0.0)
    if soft_cap is not None and not cap > 0:  # 0 would mean no cap to the kernel
        raise ValueError(f"soft_cap {soft_cap} is below float32's range")
    sink_logits = jnp.zeros((0,), jnp.float32) if sinks is None else sinks.astype(jnp.float32)
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct(q.shape, q.dtype))
    return call(
        q,
        k_pages,
        v_pages,
        kv_lens.astype(jnp.int32),
        page_indices.astype(jnp.int32),
        cu_q_lens.astype(jnp.int32),
        num_seqs.astype(jnp.int32),
        sink_logits,
        sm_scale=np.float32(sm_scale),
        sliding_window=np.int64(sliding_window or 0),
        soft_cap=cap,
    )
