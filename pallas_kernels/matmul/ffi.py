"""Calling a native matmul through XLA's FFI: the shape contract and call shared by the kernels."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def call_native_matmul(
    target: str,
    transposed_target: str,
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None,
    *,
    transposed: bool,
) -> jax.Array:
    """`x[..., K] . w[K, N]` (or `. w[layer]` of `w[L, K, N]`, or `. w[N, K]^T`) by FFI targets.

    `target` takes (x f32[M, K], w[L, K, N], layer s32[]) and `transposed_target` (x f32[M, K],
    w[N, K]), both returning f32[M, N]; the caller checks dtypes. Raises ValueError for shapes
    outside that contract.
    """
    stacked = layer is not None
    if transposed and stacked:
        raise ValueError("transposed weights cannot be stacked")
    k_axis = -1 if transposed else -2
    if w.ndim != (3 if stacked else 2) or x.ndim < 1 or x.shape[-1] != w.shape[k_axis]:
        want = "w[N, K]" if transposed else "w[L, K, N] with a layer" if stacked else "w[K, N]"
        raise ValueError(f"expected x[..., K] and {want}, got {x.shape} and {w.shape}")
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # [M, K]
    if transposed:
        n = w.shape[0]
        call = jax.ffi.ffi_call(
            transposed_target, jax.ShapeDtypeStruct((rows.shape[0], n), jnp.float32)
        )
        return call(rows, w).reshape(*x.shape[:-1], n)
    if not stacked:
        w, layer = w[None], 0
    n = w.shape[2]
    call = jax.ffi.ffi_call(target, jax.ShapeDtypeStruct((rows.shape[0], n), jnp.float32))
    out = call(rows, w, jnp.asarray(layer, jnp.int32).reshape(()))
    return out.reshape(*x.shape[:-1], n)
