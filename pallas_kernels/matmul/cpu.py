"""Dense matmul on CPU: a native kernel (`cpu_kernel.cc`) called through XLA's FFI.

It lets a bfloat16 checkpoint keep its weights in bfloat16 on CPU while computing in float32:
a decode step of a few sequences streams every weight once, so half the bytes is close to
half the time. Under XLA the same mixed-dtype dot widens the weights into a float32 copy on
every call, which measured several times slower than float32 weights. Each output element
is summed in an order that depends on K alone, never on the number of rows or the threads,
so a row's result does not depend on what else is in the batch, for `w[K, N]` and for the
transposed `w[N, K]` of a tied LM head alike (the kernel multiplies every row count itself).

Importing this module compiles the kernel on first use (`pallas_kernels.native`); where that
fails the platform multiplies with XLA and keeps float32 weights (`platforms.matmul`).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native
from pallas_kernels.matmul.kernel import MatmulKernel

SOURCE = Path(__file__).with_name("cpu_kernel.cc")
TARGET = "jaxserve_matmul_cpu"
TRANSPOSED_TARGET = "jaxserve_matmul_transposed_cpu"
WEIGHT_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16))

native.register(SOURCE, {"JaxserveMatmul": TARGET, "JaxserveMatmulTransposed": TRANSPOSED_TARGET})


def matmul_cpu(
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`x[..., K] . w[K, N]`, or `. w[layer]` for stacked `w[L, K, N]` -> float32[..., N].

    x is float32, w float32 or bfloat16. Stacked weights are read in place at `layer` (an
    int32 scalar, traced or not): inside a layer loop no slice of them is copied. A `layer`
    outside [0, L) is an error, not a read out of bounds. `transposed`: w is [N, K] (a tied
    LM head multiplying by the embeddings), unstacked.

    Each element of the result is summed in one order fixed by K alone, whatever the number
    of rows and however the work lands on threads: a row's result is bitwise the same alone
    or among any other rows.
    """
    if x.dtype != jnp.float32:
        raise ValueError(f"x must be float32, got {x.dtype}")
    if w.dtype not in WEIGHT_DTYPES:
        raise ValueError(f"w must be float32 or bfloat16, got {w.dtype}")
    return _call(x, w, layer, transposed=transposed)


def _call(
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None,
    *,
    transposed: bool,
) -> jax.Array:
    """The FFI call: TARGET takes (x f32[M, K], w[L, K, N], layer s32[]) and TRANSPOSED_TARGET
    (x f32[M, K], w[N, K]), both returning f32[M, N]. Raises ValueError for other shapes."""
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
            TRANSPOSED_TARGET, jax.ShapeDtypeStruct((rows.shape[0], n), jnp.float32)
        )
        return call(rows, w).reshape(*x.shape[:-1], n)
    if not stacked:
        w, layer = w[None], 0
    n = w.shape[2]
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct((rows.shape[0], n), jnp.float32))
    out = call(rows, w, jnp.asarray(layer, jnp.int32).reshape(()))
    return out.reshape(*x.shape[:-1], n)


KERNEL = MatmulKernel(
    name="cpu_native",
    fn=matmul_cpu,
    reads_stacked=True,
    weight_dtypes=WEIGHT_DTYPES,
    activation_dtype=jnp.dtype(jnp.float32),
)
