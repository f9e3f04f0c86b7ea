"""Ragged paged attention as a Mosaic GPU Pallas kernel (NVIDIA Hopper, sm90+; bf16/f16).

Same schedule as the Triton kernel: the wrapper cuts each sequence's queries into blocks of
one sequence and gathers a block's queries for one KV head into 64 rows (the `wgmma` M; row
`r` is token `r // G`, query head `r % G`; `64 // G` tokens per block, spare rows zero). One
warpgroup per `(block, KV head)` program: the query tile arrives by TMA, then the keys
`[kv_lo, kv_hi)` stream through `num_stages` shared-memory slots, one TMA copy per page (its
index read from the page table), each slot's K and V tracked by their own barriers. Scores
(`Q Kᵀ`) and the value update (`P V`) run on `wgmma` with float32 accumulators; the online
softmax and the causal / sliding-window mask run in registers. Tiles wholly before the window
or past the causal limit are never loaded. A `soft_cap` caps the scores with tanh before the
mask; `sinks` (f32[H], read as scalars) start each row's running max at its head's sink and
its sum at 1, in split 0 only when the KV range is split.

With `num_kv_splits > 1` (flash-decoding) the grid gains a `split` axis: each program walks
its share of the block's tiles and writes its normalized partial output (in `q`'s dtype,
through the same SMEM tile) and each row's log-sum-exp (float32, broadcast over a 32-column
tile: a row vector has no TMA path of its own); `combine_kv_splits` merges them.

Kept deliberately simple (no warp specialization); validated on CPU only by the interpreter
and by lowering for CUDA, so run `benchmarks/gpu_kernels.py` on a Hopper GPU before use.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import mosaic_gpu as plgpu

from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
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

ROWS = 64  # query rows per program: the M of one warpgroup's wgmma
_SWIZZLE_BYTES = 128
_LSE_COLS = _SWIZZLE_BYTES // 4  # float32 columns of the log-sum-exp tile


class BlockSizes(NamedTuple):
    """Tunables of one launch."""

    num_kv_pages_per_block: int  # pages per KV tile; tile tokens must be a multiple of 64
    num_stages: int  # KV tiles in flight (shared-memory slots)
    num_kv_splits: int = 1  # programs sharing each block's KV range (flash-decoding)


# head_dim -> (KV tokens per tile, stages, split target). Sized for Hopper's 227 KiB of
# shared memory, NOT yet measured: `benchmarks/gpu_kernels.py` sweeps them and prints the best
# as lines for this table. The split target is the grid programs a decode step aims for by
# splitting each sequence's KV range (`pick_num_kv_splits`; 0: never split).
TUNED_BLOCK_SIZES: dict[int, tuple[int, int, int]] = {
    64: (128, 3, 1024),
    128: (64, 3, 1024),
    256: (64, 2, 1024),
}
_FALLBACK = (64, 2, 0)
MIN_SPLIT_TOKENS = 256  # fewer keys per split than this cost more to combine than they save


def pick_block_sizes(
    *,
    head_dim: int,
    page_size: int,
    pages_per_seq: int,
    num_kv_heads: int = 1,
    num_tokens: int = 0,
    num_slots: int = 0,
) -> BlockSizes:
    """Block sizes for a call's static shapes, from `TUNED_BLOCK_SIZES`.

    KV splits only for a decode step (`num_tokens <= num_slots`, both given).
    """
    kv_tokens, stages, target = TUNED_BLOCK_SIZES.get(head_dim, _FALLBACK)
    kv_tokens = max(kv_tokens, page_size)
    splits = pick_num_kv_splits(
        num_programs=num_slots * num_kv_heads,
        target_programs=target if 0 < num_tokens <= num_slots else 0,
        max_kv_len=pages_per_seq * page_size,
        min_split_tokens=max(MIN_SPLIT_TOKENS, kv_tokens),
    )
    return BlockSizes(max(1, kv_tokens // page_size), stages, splits)


def _kernel(
    seq_ref,  # i32[N] (GMEM) sequence of each query block
    q_start_ref,  # i32[N] position of the block's first query token
    kv_lo_ref,  # i32[N] first key any query of the block may see
    kv_hi_ref,  # i32[N] one past the last such key; 0 for an empty block
    page_table_ref,  # i32[S, pages_per_seq]
    q_ref,  # [N, K, 64, D] query blocks; row r = token r // G, head r % G
    k_ref,  # [P, page_size, K, D] the page pool
    v_ref,  # [P, page_size, K, D]
    *refs,  # with sinks, sinks_ref f32[H] first; then o_ref, split's lse_ref, the scratch
    group: int,
    page_size: int,
    pages_per_tile: int,
    stages: int,
    num_kv_splits: int,
    sm_scale: float,
    sliding_window: int | None,
    soft_cap: float | None,
    has_sinks: bool,
    mask_value: float,
    on_gpu: bool,
):
    # o_ref [N, K, 64, D]; split: [N, K, X, 64, D] each split's normalized output, and
    # lse_ref f32[N, K, X, 64, 32].
    sinks_ref, o_ref, *refs = refs if has_sinks else (None, *refs)
    if num_kv_splits > 1:
        lse_ref, *scratch, lse_smem = refs
    else:
        lse_ref, lse_smem, scratch = None, None, refs
    q_smem, k_smem, v_smem, q_barrier, k_barriers, v_barriers = scratch
    # q_smem [64, D] (SMEM): the query tile, then the output tile; k_smem, v_smem
    # [stages, C, D] with C = pages_per_tile * page_size keys a slot; q_barrier Barrier[1];
    # k_barriers, v_barriers Barrier[stages], one arrival per page copy; lse_smem f32[64, 32].
    # The CPU interpreter knows no register layouts (on the GPU they are wgmma's).
    wgmma_layout = plgpu.Layout.WGMMA if on_gpu else None
    row_layout = plgpu.Layout.WGMMA.reduce(1) if on_gpu else None

    def laid_out(x, layout):
        return x if layout is None else plgpu.layout_cast(x, layout)

    n, head = lax.axis_index("block"), lax.axis_index("kv_head")
    seq, q_start, kv_hi = seq_ref[n], q_start_ref[n], kv_hi_ref[n]
    kv_tile = pages_per_tile * page_size
    first = lax.div(kv_lo_ref[n], kv_tile)
    last = lax.div(kv_hi + (kv_tile - 1), kv_tile)
    if num_kv_splits > 1:
        first, last = split_tile_range(first, last, lax.axis_index("split"), num_kv_splits)
    last_page = jnp.maximum(lax.div(kv_hi + (page_size - 1), page_size) - 1, 0)
    plgpu.copy_gmem_to_smem(q_ref.at[n, head], q_smem, q_barrier.at[0])

    def fetch(j):
        """Starts the TMA copies of KV tile `j` into its slot, one per page."""
        slot = lax.rem(j - first, stages)
        for p in range(pages_per_tile):
            # Past the sequence's last page re-read that page: its keys are masked anyway.
            page = page_table_ref[seq, jnp.minimum(j * pages_per_tile + p, last_page)]
            dst = pl.ds(p * page_size, page_size)
            barrier_k, barrier_v = k_barriers.at[slot], v_barriers.at[slot]
            plgpu.copy_gmem_to_smem(k_ref.at[page, :, head, :], k_smem.at[slot, dst], barrier_k)
            plgpu.copy_gmem_to_smem(v_ref.at[page, :, head, :], v_smem.at[slot, dst], barrier_v)

    for ahead in range(stages - 1):
        pl.when(first + ahead < last)(functools.partial(fetch, first + ahead))
    plgpu.barrier_wait(q_barrier.at[0])

    def tile(j, carry):
        acc, m, denom = carry  # f32[64, D], f32[64] running max, f32[64] running sum
        slot = lax.rem(j - first, stages)
        # The slot of tile j + stages - 1 held tile j - 1, whose wgmmas have completed.
        pl.when(j + (stages - 1) < last)(functools.partial(fetch, j + (stages - 1)))
        plgpu.barrier_wait(k_barriers.at[slot])

        scores = _matmul(q_smem, k_smem.at[slot], transpose_b=True, on_gpu=on_gpu)  # [64, C]
        rows = laid_out(lax.broadcasted_iota(jnp.int32, scores.shape, 0), wgmma_layout)
        cols = laid_out(lax.broadcasted_iota(jnp.int32, scores.shape, 1), wgmma_layout)
        q_pos = q_start + lax.div(rows, group)
        kv_pos = j * kv_tile + cols
        visible = (kv_pos <= q_pos) & (kv_pos < kv_hi)
        if sliding_window is not None:
            visible = visible & (kv_pos > q_pos - sliding_window)
        scores = scores * sm_scale
        if soft_cap is not None:
            scores = soft_cap * jnp.tanh(scores * (1.0 / soft_cap))
        scores = jnp.where(visible, scores, mask_value)
        m_new = jnp.maximum(m, scores.max(axis=1))  # [64]
        m_safe = jnp.where(m_new == -jnp.inf, 0.0, m_new)  # only when mask_value is -inf
        probs = jnp.exp(scores - lax.broadcast_in_dim(m_safe, scores.shape, [0]))
        alpha = jnp.exp(m - m_safe)  # [64]
        denom = alpha * denom + probs.sum(axis=1)
        plgpu.barrier_wait(v_barriers.at[slot])

        update = _matmul(probs.astype(v_smem.dtype), v_smem.at[slot], on_gpu=on_gpu)  # [64, D]
        return acc * lax.broadcast_in_dim(alpha, acc.shape, [0]) + update, m_new, denom

    head_dim = q_smem.shape[1]
    init = (
        laid_out(jnp.zeros((ROWS, head_dim), jnp.float32), wgmma_layout),
        laid_out(jnp.full((ROWS,), -jnp.inf, jnp.float32), row_layout),
        laid_out(jnp.zeros((ROWS,), jnp.float32), row_layout),
    )
    if sinks_ref is not None:  # a score with no value: exp(sink - sink) = 1 in the sum
        m0, denom0 = _sink_rows(sinks_ref, head, group, row_layout)
        if num_kv_splits > 1:  # only split 0 counts it; the combine adds every split's sum
            owner = lax.axis_index("split") == 0
            m0, denom0 = jnp.where(owner, m0, init[1]), jnp.where(owner, denom0, init[2])
        init = (init[0], laid_out(m0, row_layout), laid_out(denom0, row_layout))
    acc, m, denom = lax.fori_loop(first, last, tile, init)
    # An empty block (or an unused row) saw no key: write zeros, not 0 / 0.
    safe = jnp.where(denom == 0.0, 1.0, denom)
    q_smem[...] = (acc / lax.broadcast_in_dim(safe, acc.shape, [0])).astype(q_smem.dtype)
    if lse_ref is None:
        plgpu.commit_smem()
        plgpu.copy_smem_to_gmem(q_smem, o_ref.at[n, head])
    else:  # a split that saw no key gets -inf: no weight in the combine
        lse = jnp.where(denom == 0.0, -jnp.inf, m + jnp.log(safe))  # [64]
        lse_smem[...] = lax.broadcast_in_dim(lse, lse_smem.shape, [0])
        plgpu.commit_smem()
        split = lax.axis_index("split")
        plgpu.copy_smem_to_gmem(q_smem, o_ref.at[n, head, split])
        plgpu.copy_smem_to_gmem(lse_smem, lse_ref.at[n, head, split])
    plgpu.wait_smem_to_gmem(0)


def _sink_rows(sinks_ref, head, group, row_layout):
    """(f32[64] each row's sink logit, f32[64] ones): row r holds query head r % G of `head`.

    G scalar reads of `sinks_ref` (f32[H], GMEM), as the kernel reads its schedule, each
    selected into its rows: once per program, so no vector load or layout is needed for it.
    """
    rows = lax.broadcasted_iota(jnp.int32, (ROWS,), 0)
    if row_layout is not None:
        rows = plgpu.layout_cast(rows, row_layout)
    head_in_group = lax.rem(rows, group)
    sink = jnp.zeros((ROWS,), jnp.float32)
    for g in range(group):
        sink = jnp.where(head_in_group == g, sinks_ref[head * group + g], sink)
    return sink, jnp.ones((ROWS,), jnp.float32)


def _matmul(a, b_ref, *, transpose_b=False, on_gpu):
    """f32[M, N] = a @ b (or a @ bᵀ); `a` a SMEM ref or a value, `b_ref` a [K, N] SMEM ref.

    On the GPU one `wgmma`, awaited; the CPU interpreter's wgmma takes neither a transposed
    nor a register operand, so there it is a plain dot of the loaded tiles.
    """
    if not on_gpu:
        a = a if isinstance(a, jax.Array) else a[...]
        dims = (((1,), (1 if transpose_b else 0,)), ((), ()))
        return lax.dot_general(a, b_ref[...], dims, preferred_element_type=jnp.float32)
    b = plgpu.transpose_ref(b_ref, (1, 0)) if transpose_b else b_ref
    shape = (a.shape[0], b.shape[1])

    def run(acc_ref):
        plgpu.wgmma(acc_ref, a, b)
        return acc_ref[...]  # reading the accumulator waits for the wgmma

    return pl.run_scoped(run, plgpu.ACC(shape, jnp.float32))


def _interpret_params():
    """Mosaic GPU's CPU interpreter (simulated threads, SMEM, TMA and barriers); private API."""
    from jax._src.pallas.mosaic_gpu.interpret.params import InterpretGPUParams

    return InterpretGPUParams()


def _check_shapes(q, k_pages, v_pages, page_indices, cu_q_lens, kv_tile):
    _, num_heads, head_dim = q.shape
    _, _, num_kv_heads, kv_dim = k_pages.shape
    if v_pages.shape != k_pages.shape or kv_dim != head_dim:
        raise ValueError(f"k/v pages {k_pages.shape}, {v_pages.shape} don't fit q {q.shape}")
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads are not a multiple of {num_kv_heads} KV heads")
    if cu_q_lens.shape != (page_indices.shape[0] + 1,):
        raise ValueError(f"cu_q_lens {cu_q_lens.shape} must be [S + 1], S = {page_indices.shape}")
    # wgmma reads both operands in one dtype from SMEM: int8 / float8 pages would need a
    # converted copy of every KV tile there, so those (and float32) go to the Triton kernel.
    if not (q.dtype == k_pages.dtype == v_pages.dtype) or q.dtype not in (
        jnp.bfloat16,
        jnp.float16,
    ):
        raise NotImplementedError(
            "Mosaic GPU attention needs q, k_pages and v_pages all bfloat16 or all float16, got "
            f"{q.dtype}, {k_pages.dtype} and {v_pages.dtype}"
        )
    if num_heads // num_kv_heads > ROWS:
        raise NotImplementedError(f"at most {ROWS} query heads per KV head")
    swizzle_elems = _SWIZZLE_BYTES // q.dtype.itemsize
    if head_dim % swizzle_elems or kv_tile % 64:
        raise NotImplementedError(
            f"head_dim {head_dim} must be a multiple of {swizzle_elems} and the KV tile"
            f" ({kv_tile} tokens) of 64"
        )


@functools.partial(
    jax.jit,
    static_argnames=(
        "sm_scale",
        "sliding_window",
        "soft_cap",
        "mask_value",
        "num_kv_pages_per_block",
        "num_stages",
        "num_kv_splits",
        "interpret",
    ),
)
def ragged_paged_attention_mosaic_gpu(
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
    num_kv_pages_per_block: int | None = None,
    num_stages: int | None = None,
    num_kv_splits: int | None = None,
    interpret: bool = False,
) -> jax.Array:  # [T, H, D]
    """Causal attention of each query token over its own sequence's paged K/V, on Hopper.

    Same contract as `ragged_paged_attention_reference`, for bf16/f16 only (`wgmma` takes no
    float32 value operand, and no int8 / float8_e4m3fn pages beside bf16/f16 queries).
    Queries per block are fixed at `64 // G`.

    Args:
        q: queries of all sequences, flattened, `[T, H, D]`; D a multiple of 64.
        k_pages, v_pages: the page pool, `[P, page_size, K, D]`.
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
        num_kv_pages_per_block: pages per KV tile (tile tokens a multiple of 64).
        num_stages: KV tiles in flight, at least 2.
        num_kv_splits: programs sharing each query block's KV tiles (flash-decoding; 1 is
            one program per block). Any of these left None comes from `pick_block_sizes`.

    Returns:
        `[T, H, D]` in `q`'s dtype; rows of padding tokens are zero.

    Raises:
        NotImplementedError: while tracing, for dtypes or shapes it does not take (float32,
            int8 / float8_e4m3fn pages, a head_dim off its swizzle); the platform adapter then
            runs the Triton kernel.
    """
    num_tokens, num_heads, head_dim = q.shape
    _, page_size, num_kv_heads, _ = k_pages.shape
    num_slots, pages_per_seq = page_indices.shape
    picked = pick_block_sizes(
        head_dim=head_dim,
        page_size=page_size,
        pages_per_seq=pages_per_seq,
        num_kv_heads=num_kv_heads,
        num_tokens=num_tokens,
        num_slots=num_slots,
    )
    pages_per_tile = num_kv_pages_per_block or picked.num_kv_pages_per_block
    stages = max(2, num_stages or picked.num_stages)
    splits = num_kv_splits or picked.num_kv_splits
    if splits < 1:
        raise ValueError(f"num_kv_splits must be at least 1, got {num_kv_splits}")
    kv_tile = pages_per_tile * page_size
    _check_shapes(q, k_pages, v_pages, page_indices, cu_q_lens, kv_tile)
    check_score_options(num_heads, soft_cap, sinks)
    group = num_heads // num_kv_heads
    block_q = ROWS // group

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
    qb = jnp.pad(qb, ((0, 0), (0, 0), (0, ROWS - block_q * group), (0, 0)))  # [N, K, 64, D]

    swizzle_elems = _SWIZZLE_BYTES // q.dtype.itemsize
    transforms = (plgpu.TilingTransform((8, swizzle_elems)), plgpu.SwizzleTransform(_SWIZZLE_BYTES))
    kernel = functools.partial(
        _kernel,
        group=group,
        page_size=page_size,
        pages_per_tile=pages_per_tile,
        stages=stages,
        num_kv_splits=splits,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
        has_sinks=sinks is not None,
        mask_value=mask_value,
        on_gpu=not interpret,
    )
    scratch = [
        plgpu.SMEM((ROWS, head_dim), q.dtype, transforms=transforms),
        plgpu.SMEM((stages, kv_tile, head_dim), k_pages.dtype, transforms=transforms),
        plgpu.SMEM((stages, kv_tile, head_dim), v_pages.dtype, transforms=transforms),
        plgpu.Barrier(num_barriers=1),
        plgpu.Barrier(num_arrivals=pages_per_tile, num_barriers=stages),
        plgpu.Barrier(num_arrivals=pages_per_tile, num_barriers=stages),
    ]
    out_type = jax.ShapeDtypeStruct(qb.shape, q.dtype)
    grid, grid_names = (num_blocks, num_kv_heads), ("block", "kv_head")
    if splits > 1:
        lse_transforms = (plgpu.TilingTransform((8, _LSE_COLS)), plgpu.SwizzleTransform(128))
        scratch.append(plgpu.SMEM((ROWS, _LSE_COLS), jnp.float32, transforms=lse_transforms))
        partial = (num_blocks, num_kv_heads, splits, ROWS)
        out_type = (
            jax.ShapeDtypeStruct((*partial, head_dim), q.dtype),
            jax.ShapeDtypeStruct((*partial, _LSE_COLS), jnp.float32),
        )
        grid, grid_names = (*grid, splits), (*grid_names, "split")
    schedule = (seq, q_start, kv_lo, kv_hi, page_indices.astype(jnp.int32))
    sink_input = () if sinks is None else (sinks.astype(jnp.float32),)
    out = plgpu.kernel(
        kernel,
        out_type=out_type,
        scratch_types=scratch,
        grid=grid,
        grid_names=grid_names,
        # Pinned: JAX 0.11 switched the default to Warpgroup; Lane is what this was built on.
        compiler_params=plgpu.CompilerParams(lowering_semantics=plgpu.LoweringSemantics.Lane),
        interpret=_interpret_params() if interpret else None,
    )(*schedule, qb, k_pages, v_pages, *sink_input)
    if splits > 1:  # normalized partials: weight each by exp(lse), i.e. sum 1 where it saw keys
        partial_out, lse = out[0].astype(jnp.float32), out[1][..., 0]
        out = combine_kv_splits(partial_out, lse, jnp.where(lse == -jnp.inf, 0.0, 1.0))
        out = out.astype(q.dtype)
    out = out[:, :, : block_q * group].reshape(num_blocks, num_kv_heads, block_q, group, head_dim)
    return scatter_query_blocks(out, cu_q_lens, num_seqs, block_start, num_tokens=num_tokens)
