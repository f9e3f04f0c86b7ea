"""Grouped matmul (`jax.lax.ragged_dot`'s contract) in pure jnp: the oracle for the kernels.

Shape legend: M rows of lhs (tokens * top_k, sorted by expert), K contraction, N output
columns, G groups (experts). Rows `sum(group_sizes[:g]) : sum(group_sizes[:g + 1])` of lhs
are multiplied by `rhs[g]`; rows past `sum(group_sizes)` come out as zeros.

rhs is in lhs's dtype, or holds int8 / float8_e4m3fn codes (quantized experts): each
implementation multiplies by the codes' values, widened to lhs's dtype as it reads them,
and the caller scales the output columns (`jaxserve.model.moe`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

# Quantized weights: codes whose values the product takes (their scales apply outside).
CODE_DTYPES = (jnp.dtype(jnp.int8), jnp.dtype(jnp.float8_e4m3fn))


def check_operands(lhs: jax.Array, rhs: jax.Array, group_sizes: jax.Array) -> None:
    """Raises a ValueError naming the mismatch, at trace time."""
    if lhs.ndim != 2 or rhs.ndim != 3 or lhs.shape[1] != rhs.shape[1]:
        raise ValueError(f"lhs {lhs.shape} and rhs {rhs.shape} must be [M, K] and [G, K, N]")
    if group_sizes.shape != (rhs.shape[0],) or not jnp.issubdtype(group_sizes.dtype, jnp.integer):
        raise ValueError(
            f"group_sizes {group_sizes.shape} {group_sizes.dtype} must be an integer [G] "
            f"for G = {rhs.shape[0]} groups"
        )
    if lhs.dtype != rhs.dtype and rhs.dtype not in CODE_DTYPES:
        raise ValueError(
            f"rhs {rhs.dtype} must be lhs's dtype ({lhs.dtype}) or int8 / float8_e4m3fn codes"
        )


def row_group_ids(group_sizes: jax.Array, num_rows: int) -> jax.Array:
    """i32[M] the group of every row; `G` for rows past `sum(group_sizes)`."""
    group_ends = jnp.cumsum(group_sizes.astype(jnp.int32))  # [G]
    rows = jnp.arange(num_rows, dtype=jnp.int32)
    return jnp.searchsorted(group_ends, rows, side="right").astype(jnp.int32)


@jax.jit
def grouped_matmul_reference(lhs: jax.Array, rhs: jax.Array, group_sizes: jax.Array) -> jax.Array:
    """`out[m] = lhs[m] @ rhs[group of m]`, zeros for rows past every group.

    One masked dense product per group, accumulated in float32: G times the work of the
    ragged product, but every step is plain enough to check by eye.

    Args:
        lhs: [M, K] rows sorted by group.
        rhs: [G, K, N] one matrix per group, lhs's dtype or codes (`CODE_DTYPES`).
        group_sizes: i32[G] rows per group, in order; their sum may be below M.

    Returns:
        [M, N] in lhs's dtype.
    """
    check_operands(lhs, rhs, group_sizes)
    num_rows, num_groups, num_cols = lhs.shape[0], rhs.shape[0], rhs.shape[2]
    group_of_row = row_group_ids(group_sizes, num_rows)  # [M]
    precision = lax.Precision.HIGHEST if lhs.dtype == jnp.float32 else None

    def add_group(acc, g):  # acc f32[M, N]
        rows = jnp.where((group_of_row == g)[:, None], lhs, jnp.zeros((), lhs.dtype))  # [M, K]
        weights = rhs[g].astype(lhs.dtype)  # codes widen exactly
        product = jnp.dot(rows, weights, precision=precision, preferred_element_type=jnp.float32)
        return acc + product, None

    init = jnp.zeros((num_rows, num_cols), jnp.float32)
    out, _ = lax.scan(add_group, init, jnp.arange(num_groups))
    return out.astype(lhs.dtype)
