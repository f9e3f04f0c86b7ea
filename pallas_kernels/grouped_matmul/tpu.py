"""Grouped matmul as a Mosaic TPU Pallas kernel (runs on CPU in TPU interpret mode).

The design of megablox's `gmm`: lhs rows are cut into tiles of `block_m`, and a *work item* is
one (group, row tile) pair where the group has rows in the tile. Items are listed in group
order, so the items that touch one row tile are consecutive: a tile that straddles a group
boundary is visited once per group, each visit writing only its group's rows over what the
visit before left in the resident output block (the first visit starts from zeros). Empty
groups have no items; rows past `sum(group_sizes)` form a last pseudo-group G that computes
nothing and only zero-fills the tiles no real group reaches.

The item list is computed in the wrapper and passed as scalar prefetch (SMEM). The grid is
`(N tiles, W items, K tiles)` with `W = M tiles + min(G, M - 1)`, enough for any routing;
items past the real count repeat the last one and do nothing (their block indices do not
change, so they cost no DMA).

rhs may hold int8 or float8_e4m3fn codes (quantized experts, scaled by the caller): each
loaded rhs block is widened to lhs's dtype, by way of float32 (Mosaic's only general
conversion; both code types are exact in float32 and bfloat16), before the product. The
widened copies sit in VMEM beside the double-buffered codes (at the default 1024 x 512 rhs
block, 3 MiB for a bfloat16 lhs: within the smallest TPU's 16 MiB scoped VMEM). A K block is
the whole K or a multiple of 128, so code blocks stay on int8's (32, 128) VMEM tiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

from pallas_kernels.grouped_matmul.reference import check_operands


class GroupTiles(NamedTuple):
    """Work items (group, row tile) in group order; the item arrays are i32[W]."""

    group_offsets: jax.Array  # i32[G + 2] first row of each group; group G: rows past the total
    group_ids: jax.Array  # group of the item (G for the pseudo-group of trailing rows)
    tile_ids: jax.Array  # row tile of the item
    first_visit: jax.Array  # 1 where the item is the first on its row tile
    num_items: jax.Array  # i32[1] real items; the rest repeat the last real one


def max_work_items(num_rows: int, num_groups: int, block_m: int) -> int:
    """W: each boundary between nonempty groups adds at most one visit to the row tiles."""
    return pl.cdiv(num_rows, block_m) + min(num_groups, num_rows - 1)


def group_tile_schedule(group_sizes: jax.Array, *, num_rows: int, block_m: int) -> GroupTiles:
    """The work items of `group_sizes` i32[G] over `num_rows` rows cut into `block_m` tiles."""
    num_groups = group_sizes.shape[0]
    ends = jnp.minimum(jnp.cumsum(group_sizes.astype(jnp.int32)), num_rows)  # [G]
    zero, last_row = jnp.zeros(1, jnp.int32), jnp.full(1, num_rows, jnp.int32)
    offsets = jnp.concatenate([zero, ends, last_row])  # [G + 2]
    sizes = offsets[1:] - offsets[:-1]  # [G + 1] with the trailing rows as group G
    first_tile = offsets[:-1] // block_m
    last_tile = (offsets[1:] - 1) // block_m
    tiles_per_group = jnp.where(sizes > 0, last_tile - first_tile + 1, 0)  # [G + 1]
    item_end = jnp.cumsum(tiles_per_group)  # [G + 1]
    num_items = item_end[-1]
    item = jnp.minimum(jnp.arange(max_work_items(num_rows, num_groups, block_m)), num_items - 1)
    group = jnp.searchsorted(item_end, item, side="right").astype(jnp.int32)  # [W]
    tile = first_tile[group] + item - (item_end[group] - tiles_per_group[group])  # [W]
    previous_tile = jnp.concatenate([jnp.full(1, -1, jnp.int32), tile[:-1]])
    i32 = functools.partial(jnp.asarray, dtype=jnp.int32)
    return GroupTiles(
        i32(offsets), i32(group), i32(tile), i32(tile != previous_tile), i32(num_items)[None]
    )


def _kernel(
    # Scalar prefetch, in SMEM.
    offsets_ref,  # i32[G + 2] first row of each group
    group_ids_ref,  # i32[W] group of each item
    tile_ids_ref,  # i32[W] row tile of each item
    first_visit_ref,  # i32[W] 1 on an item that is the first on its row tile
    num_items_ref,  # i32[1] real items
    # Inputs.
    lhs_ref,  # [block_m, block_k] rows of the item's tile
    rhs_ref,  # [block_k, block_n] of the item's group (the last group for the pseudo-group),
    # lhs's dtype or int8 / float8_e4m3fn codes
    # Output.
    out_ref,  # [block_m, block_n] stays resident across the visits to one row tile
    # Scratch.
    acc_ref,  # f32[block_m, block_n]
    *,
    num_groups: int,
):
    item, k = pl.program_id(1), pl.program_id(2)
    group = group_ids_ref[item]
    real = item < num_items_ref[0]

    @pl.when(k == 0)
    def _():
        acc_ref[...] = jnp.zeros_like(acc_ref)

    @pl.when(real & (group < num_groups))
    def _():
        precision = lax.Precision.HIGHEST if lhs_ref.dtype == jnp.float32 else None
        rhs = _widen(rhs_ref[...], lhs_ref.dtype)  # [block_k, block_n]
        acc_ref[...] += jnp.dot(
            lhs_ref[...], rhs, precision=precision, preferred_element_type=jnp.float32
        )

    @pl.when(real & (k == pl.num_programs(2) - 1))
    def _():
        block_m = out_ref.shape[0]
        rows = tile_ids_ref[item] * block_m + lax.broadcasted_iota(jnp.int32, out_ref.shape, 0)
        mine = (rows >= offsets_ref[group]) & (rows < offsets_ref[group + 1])
        mine &= group < num_groups
        zeros = jnp.zeros(out_ref.shape, out_ref.dtype)
        earlier = jnp.where(first_visit_ref[item] == 1, zeros, out_ref[...])
        out_ref[...] = jnp.where(mine, acc_ref[...].astype(out_ref.dtype), earlier)


def _widen(x: jax.Array, dtype: jnp.dtype) -> jax.Array:
    """`x` in `dtype`, by way of float32: Mosaic converts between arbitrary dtypes no other way.

    int8 and float8_e4m3fn codes are exact in float32 and bfloat16 alike.
    """
    return x if x.dtype == dtype else x.astype(jnp.float32).astype(dtype)


def fit_block(dim: int, block: int, align: int = 128) -> tuple[int, int]:
    """(block, padded dim): the whole dim if it fits, else an aligned divisor, else padding.

    A block that is not the whole dim is a multiple of `align`, rounded down from `block` (up
    to `align` itself): 128 lanes for lhs's K and rhs's N, and a whole number of the (8, 16 or
    32 rows, 128) VMEM tiles of rhs's K rows in float32, bfloat16 or int8 / float8 alike.
    """
    if dim <= block:
        return dim, dim
    block = max(align, block - block % align)
    for size in range(block, 0, -align):
        if dim % size == 0:
            return size, dim
    if dim <= 2 * block:
        return dim, dim
    return block, pl.cdiv(dim, block) * block


@functools.partial(jax.jit, static_argnames=("block_m", "block_k", "block_n", "interpret"))
def grouped_matmul_tpu(
    lhs: jax.Array,
    rhs: jax.Array,
    group_sizes: jax.Array,
    *,
    block_m: int = 128,
    block_k: int = 1024,
    block_n: int = 512,
    interpret: bool | pltpu.InterpretParams = False,
) -> jax.Array:
    """`jax.lax.ragged_dot(lhs, rhs, group_sizes)` as a Mosaic TPU kernel, float32 accumulation.

    Args:
        lhs: [M, K] rows sorted by group.
        rhs: [G, K, N] one matrix per group, lhs's dtype or int8 / float8_e4m3fn codes (whose
            values multiply; the caller applies their scales to the output).
        group_sizes: i32[G] rows per group; rows past their sum come out as zeros.
        block_m: rows per tile (the whole M when M is smaller; else M is zero-padded).
        block_k, block_n: contraction and column tiles, the whole dim where it fits. A larger
            dim gets the largest 128-aligned divisor up to the block, else the whole dim (up to
            twice the block), else the block rounded down to a multiple of 128 and zero
            padding (a copy of rhs per call: pick blocks that divide).
        interpret: run in TPU interpret mode (True or a `pltpu.InterpretParams`), e.g. on CPU.

    Returns:
        [M, N] in lhs's dtype.
    """
    check_operands(lhs, rhs, group_sizes)
    (num_rows, k_dim), (num_groups, _, n_dim) = lhs.shape, rhs.shape
    if num_rows == 0:
        return jnp.zeros((0, n_dim), lhs.dtype)
    bm, m_pad = (num_rows, num_rows) if num_rows <= block_m else (block_m, 0)
    m_pad = m_pad or pl.cdiv(num_rows, block_m) * block_m
    bk, k_pad = fit_block(k_dim, block_k)
    bn, n_pad = fit_block(n_dim, block_n)
    lhs = jnp.pad(lhs, ((0, m_pad - num_rows), (0, k_pad - k_dim)))
    rhs = jnp.pad(rhs, ((0, 0), (0, k_pad - k_dim), (0, n_pad - n_dim)))
    schedule = group_tile_schedule(group_sizes, num_rows=m_pad, block_m=bm)
    num_k_tiles = k_pad // bk

    def k_tile(item, k, groups, num_items):
        # Items that compute nothing keep the last K tile's blocks: no DMA for them.
        computes = (item < num_items[0]) & (groups[item] < num_groups)
        return jnp.where(computes, k, num_k_tiles - 1)

    def lhs_map(n, item, k, offsets, groups, tiles, first, num_items):
        return tiles[item], k_tile(item, k, groups, num_items)

    def rhs_map(n, item, k, offsets, groups, tiles, first, num_items):
        group = jnp.minimum(groups[item], num_groups - 1)
        return group, k_tile(item, k, groups, num_items), n

    def out_map(n, item, k, offsets, groups, tiles, first, num_items):
        return tiles[item], n

    grid_spec = pltpu.PrefetchScalarGridSpec(
        num_scalar_prefetch=5,
        grid=(n_pad // bn, schedule.group_ids.shape[0], num_k_tiles),
        in_specs=[
            pl.BlockSpec((bm, bk), lhs_map),
            pl.BlockSpec((None, bk, bn), rhs_map),
        ],
        out_specs=pl.BlockSpec((bm, bn), out_map),
        scratch_shapes=[pltpu.VMEM((bm, bn), jnp.float32)],
    )
    out = pl.pallas_call(
        functools.partial(_kernel, num_groups=num_groups),
        grid_spec=grid_spec,
        out_shape=jax.ShapeDtypeStruct((m_pad, n_pad), lhs.dtype),
        # Column tiles are independent; items revisit row tiles in order, K accumulates.
        compiler_params=pltpu.CompilerParams(
            dimension_semantics=("parallel", "arbitrary", "arbitrary")
        ),
        interpret=interpret,
        name="grouped_matmul_tpu",
    )(*schedule, lhs, rhs)
    return out[:num_rows, :n_dim]
