"""Ragged paged attention as a Mosaic TPU Pallas kernel (runs on CPU in TPU interpret mode).

The wrapper cuts every sequence's queries into blocks of `num_queries_per_block` tokens (one
sequence per block, as in the reference's `_blocked`), gathers them into `[K, N, R, D]` with
the `G = H // K` query heads of a KV head stacked into `R = block_q * G` rows, and launches a
`(K, N)` grid. Each step streams its sequence's pages for one KV head from HBM into VMEM,
`num_kv_pages_per_block` pages at a time, double-buffered across KV blocks *and* across query
blocks (the next block's first pages load while this block computes), and runs an online
softmax in float32. KV blocks past the causal limit or before the sliding window are skipped.
A `soft_cap` caps the scores with tanh before the mask; `sinks` arrive as each block row's
logit (f32[K, R, 1] in VMEM) and start the row's running max there and its sum at 1.
Pages may hold int8 or float8_e4m3fn codes (a quantized cache): each loaded K/V block is
converted to the queries' dtype, which holds every code exactly, before the products.

Only NDIndexer ref views (`.at[...]`, `pl.ds`) are used, so TPU interpret mode can run it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
    check_kernel_dtypes,
    check_score_options,
    token_sequence_ids,
)

# (queries per block, KV tokens per block) by TPU generation and head dim. Starting points
# sized from VMEM and MXU shapes, NOT yet measured on a TPU: tune them there. (The same KV
# tokens take half the VMEM in int8 / float8 pages as in bfloat16 ones.)
TUNED_BLOCK_SIZES: dict[tuple[str, int], tuple[int, int]] = {
    ("v4", 64): (32, 512),
    ("v4", 128): (32, 512),
    ("v5e", 64): (32, 512),
    ("v5e", 128): (32, 512),
    ("v5p", 64): (32, 1024),
    ("v5p", 128): (32, 1024),
    ("v6e", 64): (64, 1024),
    ("v6e", 128): (64, 1024),
    ("v7x", 64): (64, 1024),
    ("v7x", 128): (64, 1024),
}
_FALLBACK_BLOCK_SIZES = (16, 256)

_GENERATIONS = {
    "TPU v4": "v4",
    "TPU v5 lite": "v5e",
    "TPU v5e": "v5e",
    "TPU v5": "v5p",
    "TPU v5p": "v5p",
    "TPU v6 lite": "v6e",
    "TPU v6e": "v6e",
    "TPU7x": "v7x",
}


def pick_block_sizes(
    *,
    head_dim: int,
    page_size: int,
    pages_per_seq: int,
    num_tokens: int,
    num_slots: int,
    device_kind: str | None = None,
) -> tuple[int, int]:
    """(num_queries_per_block, num_kv_pages_per_block) for a shape on a TPU generation.

    Args:
        head_dim, page_size, pages_per_seq: the call's static shapes.
        num_tokens, num_slots: T and S; `T <= S` marks a decode-only bucket, where every
            sequence has one query and a block of one token wastes nothing.
        device_kind: a `jax.Device.device_kind`; defaults to the first device's. Unknown
            kinds (CPU, GPU, new TPUs) get a small generic default.
    """
    if device_kind is None:
        device_kind = jax.devices()[0].device_kind
    generation = _GENERATIONS.get(device_kind, "")
    queries, kv_tokens = TUNED_BLOCK_SIZES.get((generation, head_dim), _FALLBACK_BLOCK_SIZES)
    num_queries = 1 if num_tokens <= num_slots else max(1, min(queries, num_tokens))
    num_pages = max(1, min(kv_tokens // page_size, pages_per_seq))
    return num_queries, num_pages


class _Schedule(NamedTuple):
    """Query blocks of one sequence each, in sequence order; all arrays i32[N]."""

    seq: jax.Array  # sequence slot of the block (clamped for empty blocks)
    first_tok: jax.Array  # flattened index of the block's first query token
    q_count: jax.Array  # real query tokens in the block; 0 for the empty tail blocks
    q_start: jax.Array  # position in its sequence of the block's first query token
    kv_lo: jax.Array  # keys the block needs: [kv_lo, kv_hi); kv_hi is 0 for empty blocks
    kv_hi: jax.Array
    block_end: jax.Array  # i32[S] cumulative count of blocks per sequence


def _block_schedule(cu_q_lens, kv_lens, num_seqs, *, num_tokens, block_q, sliding_window):
    """Cuts each sequence's queries into blocks of `block_q`; N is static, the tail is empty."""
    num_slots = kv_lens.shape[0]
    num_blocks = num_tokens // block_q + num_slots  # enough for any split of T over S
    real_seq = jnp.arange(num_slots) < num_seqs[0]
    q_lens = jnp.where(real_seq, cu_q_lens[1:] - cu_q_lens[:-1], 0)  # [S]
    blocks_per_seq = -(-q_lens // block_q)  # [S]
    block_end = jnp.cumsum(blocks_per_seq).astype(jnp.int32)  # [S]
    b = jnp.arange(num_blocks)
    seq = jnp.minimum(jnp.searchsorted(block_end, b, side="right"), num_slots - 1)  # [N]
    local = b - (block_end[seq] - blocks_per_seq[seq])  # block index inside its sequence
    first_tok = cu_q_lens[seq] + local * block_q  # [N]
    real = b < block_end[-1]  # [N]
    q_count = jnp.where(real, jnp.minimum(block_q, cu_q_lens[seq + 1] - first_tok), 0)
    q_start = kv_lens[seq] - q_lens[seq] + local * block_q  # [N]
    kv_hi = jnp.where(real, q_start + q_count, 0)  # [N]
    kv_lo = jnp.zeros_like(kv_hi)
    if sliding_window is not None:
        kv_lo = jnp.where(real, jnp.maximum(q_start - sliding_window + 1, 0), 0)
    i32 = functools.partial(jnp.asarray, dtype=jnp.int32)
    return _Schedule(
        i32(seq), i32(first_tok), i32(q_count), i32(q_start), i32(kv_lo), i32(kv_hi), block_end
    )


def _kernel(
    # Scalar prefetch, in SMEM.
    seq_ref,  # i32[N] sequence of each query block
    q_start_ref,  # i32[N] position of the block's first query token
    kv_lo_ref,  # i32[N] first key any query of the block may see
    kv_hi_ref,  # i32[N] one past the last such key; 0 for an empty block
    page_table_ref,  # i32[S * pages_per_seq] page tables, flattened
    # Inputs.
    q_ref,  # [R, D] this block's queries for one KV head; row r = token r // G, head r % G
    k_hbm_ref,  # [P, page_size, K, D] page pool, left in HBM
    v_hbm_ref,  # [P, page_size, K, D]
    *refs,  # with sinks, sink_ref first; then o_ref and the scratch below
    page_size: int,
    pages_per_block: int,
    pages_per_seq: int,
    has_sinks: bool,
    **softmax_options,
):
    # sink_ref f32[R, 1] (VMEM): each row's sink logit; only when has_sinks.
    # o_ref [R, D] the output block.
    # k_buf, v_buf [2, C, D] with C = pages_per_block * page_size: two slots for double
    # buffering; sems: DMA semaphores [2, 2] (slot, k/v); slot_ref i32[1] (SMEM): the slot the
    # next KV block lands in, which lives across grid steps.
    sink_ref, o_ref, k_buf, v_buf, sems, slot_ref = refs if has_sinks else (None, *refs)
    head, n = pl.program_id(0), pl.program_id(1)
    has_next = n + 1 < pl.num_programs(1)

    def block_pages(b):
        """(sequence, first page, end page) of query block `b`; end is 0 for an empty block."""
        end = jnp.minimum(pl.cdiv(kv_hi_ref[b], page_size), pages_per_seq)
        return seq_ref[b], kv_lo_ref[b] // page_size, end

    def copy_kv_block(pages, j, slot, *, start):
        """Starts (or waits for) the DMAs of KV block `j` of a query block into `slot`."""
        seq, lo, hi = pages
        first = j * pages_per_block

        def one_page(p, carry):
            # A wait needs only the semaphore and the size: skip the page-table read.
            page = page_table_ref[seq * pages_per_seq + p] if start else 0
            dst = pl.ds((p - first) * page_size, page_size)
            for kv, (src_ref, buf) in enumerate(((k_hbm_ref, k_buf), (v_hbm_ref, v_buf))):
                copy = pltpu.make_async_copy(
                    src_ref.at[page, :, head, :], buf.at[slot, dst, :], sems.at[slot, kv]
                )
                if start:
                    copy.start()
                else:
                    copy.wait()
            return carry

        lax.fori_loop(jnp.maximum(lo, first), jnp.minimum(hi, first + pages_per_block), one_page, 0)

    pages = block_pages(n)
    j_lo = pages[1] // pages_per_block
    j_hi = pl.cdiv(pages[2], pages_per_block)

    @pl.when(n == 0)
    def _():
        slot_ref[0] = 0

    # Normally the previous step prefetched our first KV block; start it when nobody did.
    prev_empty = kv_hi_ref[jnp.maximum(n - 1, 0)] == 0

    @pl.when((j_lo < j_hi) & ((n == 0) | prev_empty))
    def _():
        copy_kv_block(pages, j_lo, slot_ref[0], start=True)

    q = q_ref[...]
    q_start, kv_hi = q_start_ref[n], kv_hi_ref[n]
    loaded = (pages[1] * page_size, pages[2] * page_size)

    def body(j, carry):
        slot, *state = carry

        @pl.when(j + 1 < j_hi)
        def _():
            copy_kv_block(pages, j + 1, 1 - slot, start=True)

        @pl.when((j + 1 == j_hi) & has_next)
        def _():
            next_pages = block_pages(n + 1)

            @pl.when(next_pages[2] > 0)
            def _():
                copy_kv_block(next_pages, next_pages[1] // pages_per_block, 1 - slot, start=True)

        copy_kv_block(pages, j, slot, start=False)
        state = _online_softmax_step(
            q,
            k_buf[slot],
            v_buf[slot],
            *state,
            q_start=q_start,
            kv_start=j * pages_per_block * page_size,
            kv_hi=kv_hi,
            loaded=loaded,
            **softmax_options,
        )
        return 1 - slot, *state

    rows, head_dim = q.shape
    if sink_ref is None:
        m = jnp.full((rows, 1), -jnp.inf, jnp.float32)  # running max
        denom = jnp.zeros((rows, 1), jnp.float32)  # running sum of exp
    else:  # the sink is a score whose value is zero: exp(sink - sink) = 1 in the sum
        m = sink_ref[...]
        denom = jnp.ones((rows, 1), jnp.float32)
    acc = jnp.zeros((rows, head_dim), jnp.float32)  # running weighted sum of values
    slot, m, denom, acc = lax.fori_loop(j_lo, j_hi, body, (slot_ref[0], m, denom, acc))
    slot_ref[0] = slot
    o_ref[...] = (acc / jnp.where(denom == 0.0, 1.0, denom)).astype(o_ref.dtype)


def _online_softmax_step(
    q,  # [R, D]
    k,  # [C, D]
    v,  # [C, D]
    m,  # f32[R, 1] running max
    denom,  # f32[R, 1] running sum
    acc,  # f32[R, D] running output
    *,
    q_start,
    kv_start,
    kv_hi,
    loaded,
    group,
    sm_scale,
    sliding_window,
    soft_cap,
    mask_value,
):
    """Folds one KV block, whose first key is at position `kv_start`, into the state."""
    k, v = _as_dtype(k, q.dtype), _as_dtype(v, q.dtype)
    precision = lax.Precision.HIGHEST if q.dtype == jnp.float32 else None
    scores = lax.dot_general(
        q, k, (((1,), (1,)), ((), ())), precision=precision, preferred_element_type=jnp.float32
    )  # [R, C]
    rows = lax.broadcasted_iota(jnp.int32, scores.shape, 0)
    q_pos = q_start + lax.div(rows, jnp.int32(group))
    kv_pos = kv_start + lax.broadcasted_iota(jnp.int32, scores.shape, 1)
    mask = (kv_pos <= q_pos) & (kv_pos < kv_hi)
    if sliding_window is not None:
        mask &= kv_pos > q_pos - sliding_window
    scores = scores * sm_scale
    if soft_cap is not None:
        scores = soft_cap * jnp.tanh(scores * (1.0 / soft_cap))
    scores = jnp.where(mask, scores, mask_value)

    m_new = jnp.maximum(m, scores.max(axis=1, keepdims=True))  # [R, 1]
    m_safe = jnp.where(m_new == -jnp.inf, 0.0, m_new)  # only with mask_value=-inf
    probs = jnp.exp(scores - m_safe)  # [R, C]
    alpha = jnp.exp(m - m_safe)  # [R, 1]
    # Slots of pages that were not loaded hold stale bytes (maybe NaN); their probs are 0,
    # but 0 * NaN is not, so zero those value rows.
    v_pos = kv_start + lax.broadcasted_iota(jnp.int32, v.shape, 0)
    v = jnp.where((v_pos >= loaded[0]) & (v_pos < loaded[1]), v, jnp.zeros_like(v))
    pv = lax.dot_general(
        probs.astype(v.dtype),
        v,
        (((1,), (0,)), ((), ())),
        precision=precision,
        preferred_element_type=jnp.float32,
    )  # [R, D]
    return m_new, alpha * denom + probs.sum(axis=1, keepdims=True), alpha * acc + pv


def _as_dtype(x, dtype):
    """`x` in `dtype`, by way of float32: Mosaic converts between arbitrary dtypes no other way.

    int8 and float8_e4m3fn codes are exact in float32, bfloat16 and float16 alike.
    """
    return x if x.dtype == dtype else x.astype(jnp.float32).astype(dtype)


@functools.partial(
    jax.jit,
    static_argnames=(
        "sm_scale",
        "sliding_window",
        "soft_cap",
        "mask_value",
        "num_queries_per_block",
        "num_kv_pages_per_block",
        "interpret",
    ),
)
def ragged_paged_attention_tpu(
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
    interpret: bool | pltpu.InterpretParams = False,
) -> jax.Array:  # [T, H, D]
    """Causal attention of each query token over its own sequence's paged K/V, on TPU.

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
        num_queries_per_block: query tokens per block (one sequence per block); None picks
            one with `pick_block_sizes`.
        num_kv_pages_per_block: pages per KV block DMA'd and processed at once; None picks.
        interpret: False compiles for TPU; True or a `pltpu.InterpretParams` runs the kernel
            in TPU interpret mode (on any backend).

    Returns:
        `[T, H, D]` in `q`'s dtype; rows of padding tokens are zero.

    Raises:
        ValueError: if the shapes or dtypes disagree, a block size is not positive, a score
            option is invalid, or (compiling) the page size is not a multiple of the pages'
            VMEM tile rows.
    """
    num_tokens, num_heads, head_dim = q.shape
    _, page_size, num_kv_heads, _ = k_pages.shape
    num_slots, pages_per_seq = page_indices.shape
    _check_shapes(q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens)
    check_kernel_dtypes(q, k_pages, v_pages)
    check_score_options(num_heads, soft_cap, sinks)
    if interpret is False:
        _check_page_tiling(page_size, k_pages.dtype)
    picked = pick_block_sizes(
        head_dim=head_dim,
        page_size=page_size,
        pages_per_seq=pages_per_seq,
        num_tokens=num_tokens,
        num_slots=num_slots,
    )
    block_q = picked[0] if num_queries_per_block is None else num_queries_per_block
    pages_per_block = picked[1] if num_kv_pages_per_block is None else num_kv_pages_per_block
    if block_q < 1 or pages_per_block < 1:
        raise ValueError(f"block sizes must be positive, got {block_q} and {pages_per_block}")
    pages_per_block = min(pages_per_block, pages_per_seq)
    schedule = _block_schedule(
        cu_q_lens,
        kv_lens,
        num_seqs,
        num_tokens=num_tokens,
        block_q=block_q,
        sliding_window=sliding_window,
    )
    num_blocks = schedule.seq.shape[0]
    group = num_heads // num_kv_heads

    tok = schedule.first_tok[:, None] + jnp.arange(block_q)[None, :]  # [N, block_q]
    tok = jnp.where(jnp.arange(block_q)[None, :] < schedule.q_count[:, None], tok, 0)
    qb = q[tok].reshape(num_blocks, block_q, num_kv_heads, group, head_dim)
    qb = qb.transpose(2, 0, 1, 3, 4).reshape(num_kv_heads, num_blocks, block_q * group, head_dim)
    sink_rows = None
    if sinks is not None:  # row r of a KV head's block holds query head r % G of the group
        sink_rows = jnp.tile(sinks.astype(jnp.float32).reshape(num_kv_heads, group), block_q)
        sink_rows = sink_rows[..., None]  # [K, R, 1]
    out = _call_kernel(
        qb,
        k_pages,
        v_pages,
        page_indices,
        schedule,
        sink_rows,
        group=group,
        pages_per_block=pages_per_block,
        interpret=pltpu.InterpretParams() if interpret is True else interpret,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
        mask_value=mask_value,
    )  # [K, N, block_q * G, D]
    out = out.reshape(num_kv_heads, num_blocks, block_q, group, head_dim).transpose(1, 2, 0, 3, 4)
    out = out.reshape(num_blocks * block_q, num_heads, head_dim)
    return _rows_per_token(out, cu_q_lens, num_seqs, schedule.block_end, num_tokens, block_q)


def _check_shapes(q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens):
    """Raises a ValueError naming the mismatch, at trace time."""
    num_heads, head_dim = q.shape[1:]
    num_kv_heads = k_pages.shape[2]
    if k_pages.shape != v_pages.shape or k_pages.shape[3] != head_dim:
        raise ValueError(
            f"k_pages {k_pages.shape} and v_pages {v_pages.shape} must both be "
            f"[P, page_size, K, {head_dim}]"
        )
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads are not a multiple of {num_kv_heads} KV heads")
    num_slots = page_indices.shape[0]
    if kv_lens.shape != (num_slots,) or cu_q_lens.shape != (num_slots + 1,):
        raise ValueError(
            f"kv_lens {kv_lens.shape} and cu_q_lens {cu_q_lens.shape} must be [S] and "
            f"[S + 1] for S = {num_slots} page-table rows"
        )


def _check_page_tiling(page_size, dtype):
    """Each page lands at a multiple of `page_size` rows of a VMEM buffer that Mosaic tiles in
    (32 // itemsize, 128) blocks: 8 rows of float32, 16 of bfloat16, 32 of int8 or float8."""
    rows = 32 // jnp.dtype(dtype).itemsize
    if page_size % rows:
        raise ValueError(
            f"on a TPU, {jnp.dtype(dtype).name} pages need a page_size that is a multiple of "
            f"{rows} (the rows of one ({rows}, 128) VMEM tile), got {page_size}"
        )


def _call_kernel(
    qb,
    k_pages,
    v_pages,
    page_indices,
    schedule,
    sink_rows,  # f32[K, R, 1] or None
    *,
    group,
    pages_per_block,
    interpret,
    **softmax_options,
):
    """Runs the kernel over the `(K, N)` grid: `[K, N, R, D]` query blocks to output blocks."""
    num_kv_heads, num_blocks, rows, head_dim = qb.shape
    page_size = k_pages.shape[1]
    pages_per_seq = page_indices.shape[1]
    kernel = functools.partial(
        _kernel,
        page_size=page_size,
        pages_per_block=pages_per_block,
        pages_per_seq=pages_per_seq,
        has_sinks=sink_rows is not None,
        group=group,
        **softmax_options,
    )
    block = pl.BlockSpec((None, None, rows, head_dim), lambda h, n, *_: (h, n, 0, 0))
    in_specs = [block, pl.BlockSpec(memory_space=pl.ANY), pl.BlockSpec(memory_space=pl.ANY)]
    inputs = [qb, k_pages, v_pages]
    if sink_rows is not None:  # a KV head's rows, the same block for all its query blocks
        in_specs.append(pl.BlockSpec((None, rows, 1), lambda h, n, *_: (h, 0, 0)))
        inputs.append(sink_rows)
    kv_tokens = pages_per_block * page_size
    grid_spec = pltpu.PrefetchScalarGridSpec(
        num_scalar_prefetch=5,
        grid=(num_kv_heads, num_blocks),
        in_specs=in_specs,
        out_specs=block,
        scratch_shapes=[
            pltpu.VMEM((2, kv_tokens, head_dim), k_pages.dtype),
            pltpu.VMEM((2, kv_tokens, head_dim), v_pages.dtype),
            pltpu.SemaphoreType.DMA((2, 2)),
            pltpu.SMEM((1,), jnp.int32),
        ],
    )
    return pl.pallas_call(
        kernel,
        grid_spec=grid_spec,
        out_shape=jax.ShapeDtypeStruct(qb.shape, qb.dtype),
        # KV heads are independent; query blocks must run in order for the cross-step prefetch.
        compiler_params=pltpu.CompilerParams(dimension_semantics=("parallel", "arbitrary")),
        interpret=interpret,
    )(
        schedule.seq,
        schedule.q_start,
        schedule.kv_lo,
        schedule.kv_hi,
        page_indices.reshape(-1).astype(jnp.int32),
        *inputs,
    )


def _rows_per_token(out, cu_q_lens, num_seqs, block_end, num_tokens, block_q):
    """[N * block_q, H, D] block rows -> [T, H, D]: each real token's row, zeros for padding."""
    t = jnp.arange(num_tokens)
    t_seq = token_sequence_ids(cu_q_lens, num_tokens)  # [T]
    offset = t - cu_q_lens[t_seq]  # [T] index inside its sequence's queries
    first_block = jnp.concatenate([jnp.zeros(1, jnp.int32), block_end[:-1]])  # [S]
    row = (first_block[t_seq] + offset // block_q) * block_q + offset % block_q
    row = jnp.clip(row, 0, out.shape[0] - 1)
    real = (t < cu_q_lens[num_seqs[0]])[:, None, None]
    return jnp.where(real, out[row], jnp.zeros((), out.dtype))
