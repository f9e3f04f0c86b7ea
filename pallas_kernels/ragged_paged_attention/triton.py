"""Ragged paged attention as a Pallas Triton kernel (NVIDIA and, through Triton only, AMD GPUs).

Pallas Triton is deprecated upstream (JAX 0.11 warns when it lowers one) but it is the only
Pallas path on AMD GPUs, so it lives alone in this module and can be dropped with it.

The wrapper cuts every sequence's queries into blocks of `num_queries_per_block` tokens (one
sequence per block, as the reference's `_blocked` does) and gathers each block's queries for
one KV head into `R` rows (row `r` is token `r // G`, query head `r % G` of the group; `R` is a
power of two of at least 16 for `tl.dot`, extra rows are zero). A `(N, K)` grid then walks the
block's keys `[kv_lo, kv_hi)` in tiles of `num_kv_pages_per_block` pages: token slots come from
the page table, K/V rows are gathered with masked pointer loads, and an online softmax runs in
float32. Tiles wholly before the sliding window or past the causal limit are never visited.
A `soft_cap` caps the scores with tanh before the mask; `sinks` arrive as each block row's
logit (f32[K, R]) and start the row's running max there and its sum at 1. Pages may hold
int8 or float8_e4m3fn codes (a quantized cache): each loaded K/V tile is converted to the
queries' dtype, which holds every code exactly, before the products (float8 casts need sm89+).

With `num_kv_splits > 1` (flash-decoding, for decode steps with long contexts) the grid is
`(N, K, splits)`: each program walks its share of the block's tiles and leaves float32
partials (unnormalized output, running max, running sum) that `combine_kv_splits` merges;
only split 0 starts from the sink, so the combined sum counts it once.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pltriton

from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
    check_kernel_dtypes,
    check_score_options,
)
from pallas_kernels.ragged_paged_attention.schedule import (
    block_schedule,
    combine_kv_splits,
    gather_query_blocks,
    pick_num_kv_splits,
    scatter_query_blocks,
    split_tile_range,
)

_MIN_DOT_ROWS = 16  # tl.dot needs M, N, K >= 16


class BlockSizes(NamedTuple):
    """Tunables of one launch."""

    num_queries_per_block: int  # query tokens per block (all from one sequence)
    num_kv_pages_per_block: int  # pages per KV tile
    num_warps: int
    num_stages: int
    num_kv_splits: int = 1  # programs sharing each block's KV range (flash-decoding)


# (workload, head_dim) -> (query rows per block R, KV tokens per tile, warps, stages, split
# target). Starting points sized from Hopper's shared memory (two or three K/V tiles in
# flight), NOT yet measured: `benchmarks/gpu_kernels.py` sweeps them and prints the best as
# lines for this table. "decode": at most one query token per sequence slot on average;
# "prefill": anything longer. The split target is the grid programs a step aims for by
# splitting each sequence's KV range (`pick_num_kv_splits`; 0: never split), so the split
# count follows the batch: fewer splits for more sequences or KV heads.
TUNED_BLOCK_SIZES: dict[tuple[str, int], tuple[int, int, int, int, int]] = {
    ("decode", 64): (16, 128, 4, 3, 1024),
    ("decode", 128): (16, 64, 4, 3, 1024),
    ("decode", 256): (16, 32, 4, 3, 1024),
    ("prefill", 64): (64, 64, 4, 2, 0),
    ("prefill", 128): (64, 64, 4, 2, 0),
    ("prefill", 256): (32, 32, 8, 2, 0),
}
_FALLBACK = (16, 32, 4, 2, 0)
MIN_SPLIT_TOKENS = 256  # fewer keys per split than this cost more to combine than they save


def pick_block_sizes(
    *,
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    page_size: int,
    pages_per_seq: int,
    num_tokens: int,
    num_slots: int,
) -> BlockSizes:
    """Block sizes for a call's static shapes, from `TUNED_BLOCK_SIZES`."""
    workload = "decode" if num_tokens <= num_slots else "prefill"
    rows, kv_tokens, warps, stages, target = TUNED_BLOCK_SIZES.get((workload, head_dim), _FALLBACK)
    group = num_heads // num_kv_heads
    num_queries = max(1, min(rows // group, num_tokens))
    num_pages = max(1, min(kv_tokens // page_size, pages_per_seq))
    num_pages = 1 << (num_pages.bit_length() - 1)  # a tile is a power of two of tokens
    splits = pick_num_kv_splits(
        num_programs=num_slots * num_kv_heads,  # a decode step: at most one block per slot
        target_programs=target,
        max_kv_len=pages_per_seq * page_size,
        min_split_tokens=max(MIN_SPLIT_TOKENS, num_pages * page_size),
    )
    return BlockSizes(num_queries, num_pages, warps, stages, splits)


def _kernel(
    seq_ref,  # i32[N] sequence of each query block
    q_start_ref,  # i32[N] position of the block's first query token
    kv_lo_ref,  # i32[N] first key any query of the block may see
    kv_hi_ref,  # i32[N] one past the last such key; 0 for an empty block
    page_table_ref,  # i32[S, pages_per_seq]
    q_ref,  # [R, D] this block's queries for one KV head; row r = token r // G, head r % G
    k_ref,  # [P * page_size, K, D] the page pool, one row per token slot
    v_ref,  # [P * page_size, K, D]
    *refs,  # with sinks, sink_ref f32[R] (each row's sink logit) first; then the outputs:
    # o [R, D]; split: acc f32[R, D], m f32[R], denom f32[R]
    group: int,
    page_size: int,
    kv_tile: int,
    num_kv_splits: int,
    sm_scale: float,
    sliding_window: int | None,
    soft_cap: float | None,
    has_sinks: bool,
    mask_value: float,
):
    sink_ref, *out_refs = refs if has_sinks else (None, *refs)
    n, head = pl.program_id(0), pl.program_id(1)
    seq, q_start, kv_hi = seq_ref[n], q_start_ref[n], kv_hi_ref[n]
    q = q_ref[...]
    rows, head_dim = q.shape
    q_pos = q_start + jnp.arange(rows, dtype=jnp.int32) // group  # [R]
    lanes = jnp.arange(head_dim, dtype=jnp.int32)[None, :]  # [1, D]

    def tile(j, carry):
        m, denom, acc = carry  # f32[R] running max, f32[R] running sum, f32[R, D]
        pos = j * kv_tile + jnp.arange(kv_tile, dtype=jnp.int32)  # [C]
        present = pos < kv_hi
        page = pltriton.load(page_table_ref.at[seq, pos // page_size], mask=present, other=0)
        # Index arrays only (no slices): interpret mode's gather supports nothing else.
        slot = (page * page_size + pos % page_size)[:, None]  # [C, 1]
        at = (slot, head, lanes)
        # A float zero: Triton casts no integer to float8.
        k = pltriton.load(k_ref.at[at], mask=present[:, None], other=0.0)  # [C, D]
        v = pltriton.load(v_ref.at[at], mask=present[:, None], other=0.0)  # [C, D]
        # int8 / float8 codes (or other page dtypes) multiply in the queries' dtype.
        k, v = k.astype(q.dtype), v.astype(q.dtype)
        # float32 queries: IEEE products, not the TF32 that Triton's default lowers to.
        precision = lax.Precision.HIGHEST if q.dtype == jnp.float32 else None
        scores = lax.dot_general(
            q, k, (((1,), (1,)), ((), ())), precision=precision, preferred_element_type=jnp.float32
        )  # [R, C]
        visible = (pos[None, :] <= q_pos[:, None]) & present[None, :]
        if sliding_window is not None:
            visible &= pos[None, :] > q_pos[:, None] - sliding_window
        scores = scores * sm_scale
        if soft_cap is not None:
            scores = soft_cap * jnp.tanh(scores * (1.0 / soft_cap))
        scores = jnp.where(visible, scores, mask_value)
        m_new = jnp.maximum(m, jnp.max(scores, axis=1))  # [R]
        m_safe = jnp.where(m_new == -jnp.inf, 0.0, m_new)  # only when mask_value is -inf
        probs = jnp.exp(scores - m_safe[:, None])  # [R, C]
        alpha = jnp.exp(m - m_safe)  # [R]
        pv = lax.dot_general(
            probs.astype(v.dtype),
            v,
            (((1,), (0,)), ((), ())),
            precision=precision,
            preferred_element_type=jnp.float32,
        )  # [R, D]
        return m_new, alpha * denom + jnp.sum(probs, axis=1), alpha[:, None] * acc + pv

    init = (
        jnp.full((rows,), -jnp.inf, jnp.float32),
        jnp.zeros((rows,), jnp.float32),
        jnp.zeros((rows, head_dim), jnp.float32),
    )
    if sink_ref is not None:  # a score with no value: exp(sink - sink) = 1 in the sum
        m0, denom0 = sink_ref[...], jnp.ones((rows,), jnp.float32)
        if num_kv_splits > 1:  # only split 0 counts it; the combine adds every split's sum
            owner = pl.program_id(2) == 0
            m0, denom0 = jnp.where(owner, m0, init[0]), jnp.where(owner, denom0, init[1])
        init = (m0, denom0, init[2])
    first, last = kv_lo_ref[n] // kv_tile, (kv_hi + kv_tile - 1) // kv_tile
    if num_kv_splits > 1:
        first, last = split_tile_range(first, last, pl.program_id(2), num_kv_splits)
        m, denom, acc = lax.fori_loop(first, last, tile, init)
        acc_ref, m_ref, denom_ref = out_refs
        acc_ref[...], m_ref[...], denom_ref[...] = acc, m, denom
        return
    _, denom, acc = lax.fori_loop(first, last, tile, init)
    # An empty block (or an unused row) saw no key: write zeros, not 0 / 0.
    (o_ref,) = out_refs
    o_ref[...] = (acc / jnp.where(denom == 0.0, 1.0, denom)[:, None]).astype(o_ref.dtype)


def _check_shapes(q, k_pages, v_pages, page_indices, cu_q_lens):
    _, num_heads, head_dim = q.shape
    _, page_size, num_kv_heads, kv_dim = k_pages.shape
    if v_pages.shape != k_pages.shape or kv_dim != head_dim:
        raise ValueError(f"k/v pages {k_pages.shape}, {v_pages.shape} don't fit q {q.shape}")
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads are not a multiple of {num_kv_heads} KV heads")
    if cu_q_lens.shape != (page_indices.shape[0] + 1,):
        raise ValueError(f"cu_q_lens {cu_q_lens.shape} must be [S + 1], S = {page_indices.shape}")
    if head_dim & (head_dim - 1) or page_size & (page_size - 1):
        raise NotImplementedError(
            f"Pallas Triton needs power-of-two head_dim and page_size, got {head_dim}, {page_size}"
        )


@functools.partial(
    jax.jit,
    static_argnames=(
        "sm_scale",
        "sliding_window",
        "soft_cap",
        "mask_value",
        "num_queries_per_block",
        "num_kv_pages_per_block",
        "num_warps",
        "num_stages",
        "num_kv_splits",
        "interpret",
    ),
)
def ragged_paged_attention_triton(
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
    num_queries_per_block: int | None = None,
    num_kv_pages_per_block: int | None = None,
    num_warps: int | None = None,
    num_stages: int | None = None,
    num_kv_splits: int | None = None,
    interpret: bool = False,
) -> jax.Array:  # [T, H, D]
    """Causal attention of each query token over its own sequence's paged K/V, on GPU.

    Same contract as `ragged_paged_attention_reference`.

    Args:
        q: queries of all sequences, flattened, `[T, H, D]`.
        k_pages, v_pages: the page pool, `[P, page_size, K, D]`: floats, or int8 /
            float8_e4m3fn codes read as numbers (a quantized cache's scales are folded outside).
        kv_lens: `i32[S]` tokens in each sequence's cache, counting this step's tokens.
        page_indices: `i32[S, pages_per_seq]` page tables; entries past a length are ignored.
        cu_q_lens: `i32[S + 1]` cumulative query lengths, `cu_q_lens[0] == 0`.
        num_seqs: `i32[1]` how many of the S sequence slots are real.
        sm_scale: multiplies the scores (usually `D ** -0.5`).
        sliding_window: if set, a query sees only the last `sliding_window` positions.
        soft_cap: if set, scores (after `sm_scale`) become `soft_cap * tanh(s / soft_cap)`
            before masking.
        sinks: if set, `f32[H]` one logit per query head that joins each row's softmax
            denominator without a value.
        mask_value: score given to masked positions.
        num_queries_per_block: query tokens per block (one sequence per block).
        num_kv_pages_per_block: pages per KV tile; times page_size must be a power of two.
        num_warps, num_stages: Triton launch parameters.
        num_kv_splits: programs sharing each query block's KV tiles (flash-decoding; 1 is
            one program per block). Any block size left None is taken from `pick_block_sizes`.
        interpret: run the kernel in Pallas interpret mode (on any backend, e.g. CPU).

    Returns:
        `[T, H, D]` in `q`'s dtype; rows of padding tokens are zero.

    Raises:
        ValueError: if the shapes or dtypes disagree, or a block size or score option is
            invalid.
        NotImplementedError: for a head_dim or page_size that is not a power of two.
    """
    _check_shapes(q, k_pages, v_pages, page_indices, cu_q_lens)
    check_kernel_dtypes(q, k_pages, v_pages)
    check_score_options(q.shape[1], soft_cap, sinks)
    num_tokens, num_heads, head_dim = q.shape
    num_pages, page_size, num_kv_heads, _ = k_pages.shape
    num_slots, pages_per_seq = page_indices.shape
    group = num_heads // num_kv_heads
    picked = pick_block_sizes(
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        page_size=page_size,
        pages_per_seq=pages_per_seq,
        num_tokens=num_tokens,
        num_slots=num_slots,
    )
    block_q = num_queries_per_block or picked.num_queries_per_block
    kv_tile = (num_kv_pages_per_block or picked.num_kv_pages_per_block) * page_size
    if kv_tile & (kv_tile - 1) or kv_tile < _MIN_DOT_ROWS:
        raise ValueError(f"KV tile of {kv_tile} tokens must be a power of two >= {_MIN_DOT_ROWS}")
    rows = max(_MIN_DOT_ROWS, 1 << math.ceil(math.log2(block_q * group)))
    splits = num_kv_splits or picked.num_kv_splits
    if splits < 1:
        raise ValueError(f"num_kv_splits must be at least 1, got {num_kv_splits}")

    seq, first_tok, q_count, q_start, kv_lo, kv_hi, block_start = block_schedule(
        cu_q_lens,
        kv_lens,
        num_seqs,
        num_tokens=num_tokens,
        block_q=block_q,
        sliding_window=sliding_window,
    )
    num_blocks = seq.shape[0]
    qb = gather_query_blocks(q, first_tok, q_count, block_q=block_q, num_kv_heads=num_kv_heads)
    qb = jnp.pad(qb, ((0, 0), (0, 0), (0, rows - block_q * group), (0, 0)))  # [N, K, R, D]

    kernel = functools.partial(
        _kernel,
        group=group,
        page_size=page_size,
        kv_tile=kv_tile,
        num_kv_splits=splits,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
        has_sinks=sinks is not None,
        mask_value=mask_value,
    )
    params = pltriton.CompilerParams(
        num_warps=num_warps or picked.num_warps, num_stages=num_stages or picked.num_stages
    )
    slots_shape = (num_pages * page_size, num_kv_heads, head_dim)
    schedule = (seq, q_start, kv_lo, kv_hi, page_indices.astype(jnp.int32))
    pools = (k_pages.reshape(slots_shape), v_pages.reshape(slots_shape))
    sink_rows = None
    if sinks is not None:  # row r of a KV head's block holds query head r % G of the group
        sink_rows = jnp.tile(sinks.astype(jnp.float32).reshape(num_kv_heads, group), block_q)
        sink_rows = jnp.pad(sink_rows, ((0, 0), (0, rows - block_q * group)))  # [K, R]
    out = _launch(kernel, schedule, qb, pools, sink_rows, splits, params, interpret)
    out = out[:, :, : block_q * group].reshape(num_blocks, num_kv_heads, block_q, group, head_dim)
    return scatter_query_blocks(out, cu_q_lens, num_seqs, block_start, num_tokens=num_tokens)


def _launch(kernel, schedule, qb, pools, sink_rows, num_kv_splits, params, interpret):
    """Runs the kernel over `(N, K)` (or `(N, K, splits)`, then combined): [N, K, R, D].

    `sink_rows` (f32[K, R] or None) follows the pools as the kernel's last input.
    """
    num_blocks, num_kv_heads, rows, head_dim = qb.shape
    whole = pl.no_block_spec
    sink_spec, sink_input = [], []
    if sink_rows is not None:
        sink_spec = [pl.BlockSpec((None, rows), lambda n, h, *_: (h, 0))]
        sink_input = [sink_rows]
    call = functools.partial(
        pl.pallas_call,
        kernel,
        compiler_params=params,
        interpret=interpret,
        name="ragged_paged_attention_triton",
    )
    if num_kv_splits == 1:
        block = pl.BlockSpec((None, None, rows, head_dim), lambda n, h: (n, h, 0, 0))
        return call(
            grid=(num_blocks, num_kv_heads),
            in_specs=[whole] * 5 + [block, whole, whole, *sink_spec],
            out_specs=block,
            out_shape=jax.ShapeDtypeStruct(qb.shape, qb.dtype),
        )(*schedule, qb, *pools, *sink_input)
    partial = (num_blocks, num_kv_heads, num_kv_splits, rows)
    acc, m, denom = call(
        grid=(num_blocks, num_kv_heads, num_kv_splits),
        in_specs=[whole] * 5
        + [pl.BlockSpec((None, None, rows, head_dim), lambda n, h, x: (n, h, 0, 0)), whole, whole]
        + sink_spec,
        out_specs=[
            pl.BlockSpec((None, None, None, rows, head_dim), lambda n, h, x: (n, h, x, 0, 0)),
            pl.BlockSpec((None, None, None, rows), lambda n, h, x: (n, h, x, 0)),
            pl.BlockSpec((None, None, None, rows), lambda n, h, x: (n, h, x, 0)),
        ],
        out_shape=[
            jax.ShapeDtypeStruct((*partial, head_dim), jnp.float32),
            jax.ShapeDtypeStruct(partial, jnp.float32),
            jax.ShapeDtypeStruct(partial, jnp.float32),
        ],
    )(*schedule, qb, *pools, *sink_input)
    return combine_kv_splits(acc, m, denom).astype(qb.dtype)
