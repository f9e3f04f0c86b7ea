"""Dense matmul in bfloat16 on CPUs with AVX512_BF16: a native kernel (`cpu_bf16_kernel.cc`).

x is rounded to bfloat16 and every product of two bfloat16 numbers is summed in float32 by
`vdpbf16ps`, two k at a time: twice the multiply-adds per instruction of float32, which is
what bounds a batched decode or prefill step on these CPUs. This is what a bfloat16 model
computes in on such a CPU (vLLM's CPU backend does the same through oneDNN); float32 compute
stays exact (`pallas_kernels.matmul.cpu`).

Each element of the result is summed in one order fixed by K alone, whatever the number of
rows and the threads: a row's result is bitwise the same alone or in a batch.

Importing this module on a CPU without `avx512_bf16` and `avx512bw` raises
`UnsupportedCpuError`; elsewhere it compiles the kernel on first use (`pallas_kernels.native`).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native
from pallas_kernels.matmul.kernel import MatmulKernel

SOURCE = Path(__file__).with_name("cpu_bf16_kernel.cc")
TARGET = "jaxserve_matmul_bf16_cpu"
TRANSPOSED_TARGET = "jaxserve_matmul_bf16_transposed_cpu"
REQUIRED_FLAGS = frozenset({"avx512_bf16", "avx512bw"})


class UnsupportedCpuError(RuntimeError):
    """This CPU lacks the instructions the bfloat16 kernel is built from."""


_missing = REQUIRED_FLAGS - native.cpu_flags()
if _missing:
    raise UnsupportedCpuError(f"this CPU lacks {', '.join(sorted(_missing))} (vdpbf16ps)")

native.register(
    SOURCE, {"JaxserveMatmulBf16": TARGET, "JaxserveMatmulBf16Transposed": TRANSPOSED_TARGET}
)


def matmul_bf16_cpu(
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`bf16(x[..., K]) . w[K, N]`, or `. w[layer]` for stacked `w[L, K, N]` -> float32[..., N].

    x is float32 (rounded to bfloat16 inside, to nearest even), w bfloat16. Stacked weights
    are read in place at `layer` (an int32 scalar, traced or not); a `layer` outside [0, L)
    is an error. `transposed`: w is [N, K] (a tied LM head multiplying by the embeddings),
    unstacked. Products are summed in float32.
    """
    if x.dtype != jnp.float32:
        raise ValueError(f"x must be float32, got {x.dtype}")
    if w.dtype != jnp.bfloat16:
        raise ValueError(f"w must be bfloat16, got {w.dtype}")
    stacked = layer is not None
    if transposed and stacked:
        raise ValueError("transposed weights cannot be stacked")
    k_axis = -1 if transposed else -2
    if w.ndim != (3 if stacked else 2) or x.ndim < 1 or x.shape[-1] != w.shape[k_axis]:
        want = "w[N, K]" if transposed else "w[L, K, N] with a layer" if stacked else "w[K, N]"
        raise ValueError(f"expected x[..., K] and {want}, got {x.shape} and {w.shape}")
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
    if transposed:
        n = w.shape[0]
        call = jax.ffi.ffi_call(
            TRANSPOSED_TARGET, jax.ShapeDtypeStruct((rows.shape[0], n), x.dtype)
        )
        return call(rows, w).reshape(*x.shape[:-1], n)
    if not stacked:
        w, layer = w[None], 0
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct((rows.shape[0], w.shape[2]), x.dtype))
    out = call(rows, w, jnp.asarray(layer, jnp.int32).reshape(()))
    return out.reshape(*x.shape[:-1], w.shape[2])


KERNEL = MatmulKernel(
    name="cpu_native_bf16",
    fn=matmul_bf16_cpu,
    reads_stacked=True,
    weight_dtypes=(jnp.dtype(jnp.bfloat16),),
    activation_dtype=jnp.dtype(jnp.float32),
    product_dtype=jnp.dtype(jnp.bfloat16),
)
