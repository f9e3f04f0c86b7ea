"""Grouped matmul as a Pallas Triton kernel (NVIDIA and, through Triton only, AMD GPUs).

Pallas Triton is deprecated upstream (JAX 0.11 warns when it lowers one) but it is the only
Pallas path on AMD GPUs, so it lives alone in this module and can be dropped with it.

It walks the TPU kernel's work items (`group_tile_schedule`: one per group and row tile the
group reaches, empty groups skipped, a pseudo-group G for the rows past the total), but on a
`(W items, N tiles)` grid of independent programs: each loops over K in `block_k` steps with
masked loads, then stores only its own group's rows of the tile. The groups that share a
straddled tile own disjoint rows, so the programs never race on the output, and the
pseudo-group's programs store the zeros of the trailing rows. Programs past the real item
count do nothing.

rhs may hold int8 or float8_e4m3fn codes (quantized experts, scaled by the caller): each
loaded rhs tile is converted to lhs's dtype, which holds every code exactly, before the
product (Triton converts float8 on sm89 or newer).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pltriton

from pallas_kernels.grouped_matmul.reference import check_operands
from pallas_kernels.grouped_matmul.tpu import group_tile_schedule

_MIN_DOT_SIZE = 16  # tl.dot needs M, N, K >= 16


def _kernel(
    offsets_ref,  # i32[G + 2] first row of each group; group G: rows past the total
    group_ids_ref,  # i32[W] group of each item
    tile_ids_ref,  # i32[W] row tile of each item
    num_items_ref,  # i32[1] real items
    lhs_ref,  # [M, K] whole, in global memory
    rhs_ref,  # [G, K, N] whole, lhs's dtype or int8 / float8_e4m3fn codes
    out_ref,  # [M, N] whole; each program stores its group's rows of one tile
    *,
    block_m: int,
    block_k: int,
    block_n: int,
):
    item, n = pl.program_id(0), pl.program_id(1)
    (num_rows, k_dim), (num_groups, _, n_dim) = lhs_ref.shape, rhs_ref.shape
    group = group_ids_ref[item]
    real = item < num_items_ref[0]
    rows = tile_ids_ref[item] * block_m + jnp.arange(block_m, dtype=jnp.int32)  # [bm]
    cols = n * block_n + jnp.arange(block_n, dtype=jnp.int32)  # [bn]
    row_ok, col_ok = rows < num_rows, cols < n_dim
    rhs_group = jnp.minimum(group, num_groups - 1)
    precision = lax.Precision.HIGHEST if lhs_ref.dtype == jnp.float32 else None

    def k_step(kt, acc):  # acc f32[bm, bn]
        ks = kt * block_k + jnp.arange(block_k, dtype=jnp.int32)  # [bk]
        k_ok = ks < k_dim
        # Index arrays only (no slices): interpret mode's gather supports nothing else.
        a = pltriton.load(
            lhs_ref.at[rows[:, None], ks[None, :]], mask=row_ok[:, None] & k_ok[None, :], other=0
        )  # [bm, bk]
        # A float zero: Triton casts no integer to float8.
        b = pltriton.load(
            rhs_ref.at[rhs_group, ks[:, None], cols[None, :]],
            mask=k_ok[:, None] & col_ok[None, :],
            other=0.0,
        ).astype(a.dtype)  # [bk, bn] codes widened to lhs's dtype
        return acc + lax.dot_general(
            a, b, (((1,), (0,)), ((), ())), precision=precision, preferred_element_type=jnp.float32
        )

    # The pseudo-group and the padding items multiply nothing.
    num_k_steps = jnp.where(real & (group < num_groups), pl.cdiv(k_dim, block_k), 0)
    acc = lax.fori_loop(0, num_k_steps, k_step, jnp.zeros((block_m, block_n), jnp.float32))
    mine = (rows >= offsets_ref[group]) & (rows < offsets_ref[group + 1]) & row_ok & real
    pltriton.store(
        out_ref.at[rows[:, None], cols[None, :]],
        acc.astype(out_ref.dtype),
        mask=mine[:, None] & col_ok[None, :],
    )


def _power_of_two_block(dim: int, block: int) -> int:
    """The block, shrunk to the smallest power of two >= dim (at least 16 for tl.dot)."""
    return max(_MIN_DOT_SIZE, min(block, pl.next_power_of_2(dim)))


@functools.partial(
    jax.jit,
    static_argnames=("block_m", "block_k", "block_n", "num_warps", "num_stages", "interpret"),
)
def grouped_matmul_triton(
    lhs: jax.Array,
    rhs: jax.Array,
    group_sizes: jax.Array,
    *,
    block_m: int = 64,
    block_k: int = 64,
    block_n: int = 128,
    num_warps: int = 4,
    num_stages: int = 3,
    interpret: bool = False,
) -> jax.Array:
    """`jax.lax.ragged_dot(lhs, rhs, group_sizes)` as a Triton kernel, float32 accumulation.

    Args:
        lhs: [M, K] rows sorted by group.
        rhs: [G, K, N] one matrix per group, lhs's dtype or int8 / float8_e4m3fn codes (whose
            values multiply; the caller applies their scales to the output).
        group_sizes: i32[G] rows per group; rows past their sum come out as zeros.
        block_m, block_k, block_n: tile sizes, powers of two; each shrinks to the smallest
            power of two (at least 16) that covers its dim. Edges are masked, never padded.
        num_warps, num_stages: Triton launch parameters.
        interpret: run in Pallas interpret mode (on any backend, e.g. CPU).

    Returns:
        [M, N] in lhs's dtype.
    """
    check_operands(lhs, rhs, group_sizes)
    for name, block in (("block_m", block_m), ("block_k", block_k), ("block_n", block_n)):
        if block < _MIN_DOT_SIZE or block & (block - 1):
            raise ValueError(f"{name}={block} must be a power of two of at least 16")
    (num_rows, k_dim), n_dim = lhs.shape, rhs.shape[2]
    if num_rows == 0:
        return jnp.zeros((0, n_dim), lhs.dtype)
    bm = _power_of_two_block(num_rows, block_m)
    bk = _power_of_two_block(k_dim, block_k)
    bn = _power_of_two_block(n_dim, block_n)
    schedule = group_tile_schedule(group_sizes, num_rows=num_rows, block_m=bm)
    kernel = functools.partial(_kernel, block_m=bm, block_k=bk, block_n=bn)
    whole = pl.no_block_spec
    return pl.pallas_call(
        kernel,
        grid=(schedule.group_ids.shape[0], pl.cdiv(n_dim, bn)),
        in_specs=[whole] * 6,
        out_specs=whole,
        out_shape=jax.ShapeDtypeStruct((num_rows, n_dim), lhs.dtype),
        compiler_params=pltriton.CompilerParams(num_warps=num_warps, num_stages=num_stages),
        interpret=interpret,
        name="grouped_matmul_triton",
    )(
        schedule.group_offsets,
        schedule.group_ids,
        schedule.tile_ids,
        schedule.num_items,
        lhs,
        rhs,
    )
