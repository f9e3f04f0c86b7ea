"""Grouped matmul on CPU, in XLA: the path `benchmarks/grouped_matmul_cpu.py` measured fastest.

`jax.lax.ragged_dot` is the slowest choice on CPU (it multiplies every row by every group's
weights): 86 ms at 8 rows over 64 experts, where one product per (expert, row tile) pair takes
1.2 ms. So rows are taken in the TPU kernel's work items (`group_tile_schedule`): a loop over
(expert, row tile) pairs, each one [block_m, K] x [K, N] product with its expert's weights,
keeping only the tile's rows of that expert. A step of a few rows (decode) gathers each row's
expert instead, one batched product: faster still there (0.23 against 0.26 ms at 2 rows).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from pallas_kernels.grouped_matmul.reference import check_operands, row_group_ids
from pallas_kernels.grouped_matmul.tpu import group_tile_schedule

GATHER_ROWS = 8  # at most this many rows: one product with each row's own expert
# Float dtypes narrower than float32, sliced as integers of their width (see below).
NARROW_FLOAT_BITS = {jnp.dtype(jnp.bfloat16): jnp.uint16, jnp.dtype(jnp.float8_e4m3fn): jnp.uint8}


@functools.partial(jax.jit, static_argnames="block_m")
def grouped_matmul_cpu(
    lhs: jax.Array, rhs: jax.Array, group_sizes: jax.Array, *, block_m: int = 16
) -> jax.Array:
    """`lhs[M, K]` by `rhs[G, K, N]` in groups of rows `group_sizes i32[G]` -> `[M, N]`."""
    check_operands(lhs, rhs, group_sizes)
    if lhs.shape[0] <= GATHER_ROWS:
        return grouped_matmul_gathered(lhs, rhs, group_sizes)
    return grouped_matmul_tiled(lhs, rhs, group_sizes, block_m=block_m)


def grouped_matmul_gathered(lhs: jax.Array, rhs: jax.Array, group_sizes: jax.Array) -> jax.Array:
    """Each row times its own group's weights, gathered: one batched product [M, K, N]."""
    num_rows, num_groups = lhs.shape[0], rhs.shape[0]
    group = row_group_ids(group_sizes, num_rows)  # [M]; G for rows past the groups
    weights = rhs[jnp.minimum(group, num_groups - 1)].astype(lhs.dtype)  # [M, K, N]
    out = jnp.einsum("mk,mkn->mn", lhs, weights, preferred_element_type=jnp.float32)
    return jnp.where((group < num_groups)[:, None], out, 0.0).astype(lhs.dtype)


def grouped_matmul_tiled(
    lhs: jax.Array, rhs: jax.Array, group_sizes: jax.Array, *, block_m: int
) -> jax.Array:
    """One [block_m, K] x [K, N] product per (group, row tile) work item, in an XLA loop."""
    (num_rows, k_dim), (num_groups, _, n_dim) = lhs.shape, rhs.shape
    block_m = min(block_m, num_rows)
    padded = -(-num_rows // block_m) * block_m
    lhs = jnp.pad(lhs, ((0, padded - num_rows), (0, 0)))  # [Mp, K]
    items = group_tile_schedule(group_sizes, num_rows=padded, block_m=block_m)
    # XLA's CPU float normalization widens a bfloat16 (or fp8) array that a loop slices, whole,
    # before the loop on every call; slicing its bits as integers leaves it as stored (2x at
    # 64 experts).
    bits = NARROW_FLOAT_BITS.get(rhs.dtype)
    stored = rhs if bits is None else lax.bitcast_convert_type(rhs, bits)

    def visit(item, out):  # out f32[Mp, N]
        group, first_row = items.group_ids[item], items.tile_ids[item] * block_m
        rows = lax.dynamic_slice(lhs, (first_row, 0), (block_m, k_dim))  # [bm, K]
        weights = stored[jnp.minimum(group, num_groups - 1)]  # [K, N]
        if bits is not None:
            weights = lax.bitcast_convert_type(weights, rhs.dtype)
        weights = weights.astype(lhs.dtype)  # int8 / fp8 codes: their values
        product = jnp.dot(rows, weights, preferred_element_type=jnp.float32)  # [bm, N]
        row = first_row + jnp.arange(block_m)
        mine = (row >= items.group_offsets[group]) & (row < items.group_offsets[group + 1])
        mine &= group < num_groups  # the rows past every group stay zero
        earlier = lax.dynamic_slice(out, (first_row, 0), (block_m, n_dim))
        update = jnp.where(mine[:, None], product, earlier)
        return lax.dynamic_update_slice(out, update, (first_row, 0))

    out = lax.fori_loop(0, items.num_items[0], visit, jnp.zeros((padded, n_dim), jnp.float32))
    return out[:num_rows].astype(lhs.dtype)
